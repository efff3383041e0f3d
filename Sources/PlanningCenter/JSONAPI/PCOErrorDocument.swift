import Foundation

/// PCO's error body: `{"errors": [{"status", "code", "title", "detail", "source", "meta"}]}`.
/// OAuth endpoints answer differently (`{"error": "invalid_grant", "error_description": ...}`); both decode.
public struct PCOErrorDocument: Sendable, Hashable, Codable {
    public struct ErrorObject: Sendable, Hashable, Codable {
        public var status: String?
        public var code: String?
        public var title: String?
        public var detail: String?
        public var source: [String: JSONValue]?
        public var meta: [String: JSONValue]?

        public init(status: String? = nil, code: String? = nil, title: String? = nil, detail: String? = nil) {
            self.status = status
            self.code = code
            self.title = title
            self.detail = detail
        }
    }

    public var errors: [ErrorObject]

    public init(errors: [ErrorObject]) { self.errors = errors }

    enum CodingKeys: String, CodingKey { case errors, error, errorDescription = "error_description" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let errors = try container.decodeIfPresent([ErrorObject].self, forKey: .errors) {
            self.errors = errors
        } else {
            let code = try container.decode(String.self, forKey: .error)
            let detail = try container.decodeIfPresent(String.self, forKey: .errorDescription)
            self.errors = [ErrorObject(code: code, title: code, detail: detail)]
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(errors, forKey: .errors)
    }

    /// `code` where PCO gave one, else `status`, for error values and logs.
    public var primaryCode: String? { errors.first.flatMap { $0.code ?? $0.status } }
    public var primaryDetail: String? { errors.first.flatMap { $0.detail ?? $0.title } }

    public static func decode(_ body: Data) -> PCOErrorDocument? {
        try? JSONDecoder().decode(PCOErrorDocument.self, from: body)
    }
}
