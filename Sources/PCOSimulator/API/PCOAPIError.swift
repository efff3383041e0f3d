/// An error answered to an API client as a PCO error document.
///
/// PCO's shape (recordings 10 and 11): `{"errors":[{"status","title","code"?,"detail","source"?,"meta"?}]}`
/// served as `application/json; charset=utf-8`.
public struct PCOAPIError: Error, Sendable, Hashable {
    public var status: Int
    public var title: String
    /// PCO's machine-readable code (`invalid_resource_payload`) or, for auth failures, the error hint
    /// (`BABOON` expired token, `CAPUCHIN` revoked token, ...).
    public var code: String?
    public var detail: String
    /// The query parameter at fault, as `source.parameter`.
    public var parameter: String?

    public init(status: Int, title: String, code: String? = nil, detail: String, parameter: String? = nil) {
        self.status = status
        self.title = title
        self.code = code
        self.detail = detail
        self.parameter = parameter
    }

    static func badRequest(code: String, detail: String, parameter: String) -> PCOAPIError {
        PCOAPIError(status: 400, title: "Bad Request", code: code, detail: detail, parameter: parameter)
    }

    static let notFound = PCOAPIError(status: 404, title: "Not Found", detail: "The resource you requested could not be found")

    static func unauthorized(hint: String?, detail: String) -> PCOAPIError {
        PCOAPIError(status: 401, title: "Unauthorized", code: hint, detail: detail)
    }

    static func methodNotAllowed(_ method: String) -> PCOAPIError {
        PCOAPIError(status: 405, title: "Method Not Allowed", detail: "\(method) is not supported on this resource")
    }

    var body: [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.raw("{\"errors\":[{\"status\":")
        w.string(String(status))
        w.raw(",\"title\":")
        w.string(title)
        if let code {
            w.raw(",\"code\":")
            w.string(code)
        }
        w.raw(",\"detail\":")
        w.string(detail)
        if let parameter {
            w.raw(",\"source\":{\"parameter\":")
            w.string(parameter)
            w.byte("}")
        }
        w.raw("}]}")
        return w.bytes
    }
}
