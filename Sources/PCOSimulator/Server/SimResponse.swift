/// A request as the simulator's handlers see it, independent of the HTTP server library.
struct SimRequest: Sendable {
    var method: String
    var path: String
    /// The raw (still percent-encoded) query string, without `?`.
    var query: String
    /// Header names lower-cased.
    var headers: [String: String]
    var body: [UInt8]

    var pathWithQuery: String { query.isEmpty ? path : path + "?" + query }
}

/// A response before it is handed to the HTTP server library.
struct SimResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    static let jsonAPIContentType = "application/vnd.api+json; charset=utf-8"
    static let jsonContentType = "application/json; charset=utf-8"

    static func json(_ status: Int, _ body: [UInt8]) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", jsonContentType)], body: body)
    }

    static func error(_ error: PCOAPIError) -> SimResponse {
        json(error.status, error.body)
    }
}
