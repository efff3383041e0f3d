/// A Redis reply (RESP2). Error replies are not values: they arrive as `RedisError` with code `.serverError`.
public enum RedisValue: Sendable, Hashable {
    /// A nil bulk string or nil array (`GET` of a missing key, `SET NX` that was refused).
    case null
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    case integer(Int64)
    /// A bulk string, decoded as UTF-8 (invalid bytes become U+FFFD).
    case bulk(String)
    case array([RedisValue])

    /// The text of a status or bulk string; nil for anything else.
    public var string: String? {
        switch self {
        case .status(let text), .bulk(let text): text
        case .null, .integer, .array: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The elements of an array; nil for anything else.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }
}
