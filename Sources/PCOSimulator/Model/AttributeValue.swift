/// One attribute value of a simulated record, typed the way PCO serialises it.
public enum AttributeValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A date-time, seconds since 1970 UTC, served as `YYYY-MM-DDTHH:MM:SSZ`.
    case dateTime(Int64)
    /// A calendar date, days since 1970-01-01, served as `YYYY-MM-DD`.
    case date(Int)
    /// Pre-encoded JSON (objects and arrays PCO embeds in attributes, e.g. a group's `header_image`).
    case json(String)

    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let v): writer.bool(v)
        case .int(let v): writer.int(v)
        case .double(let v): writer.double(v)
        case .string(let v): writer.string(v)
        case .dateTime(let v):
            writer.byte("\"")
            UTCTime.appendDateTime(v, to: &writer.bytes)
            writer.byte("\"")
        case .date(let d): writer.string(UTCTime.formatDate(days: d))
        case .json(let raw): writer.rawString(raw)
        }
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A text form used by equality filters and searches.
    var filterText: String? {
        switch self {
        case .null: return nil
        case .bool(let v): return v ? "true" : "false"
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return v
        case .dateTime(let v): return UTCTime.formatDateTime(v)
        case .date(let d): return UTCTime.formatDate(days: d)
        case .json(let raw): return raw
        }
    }

    /// Total order used by `order=`: nulls first, then by value (text case-insensitively); mixed kinds
    /// by kind rank. `caseFolded` says the strings are already lower-cased.
    static func precedes(_ a: AttributeValue, _ b: AttributeValue, caseFolded: Bool = false) -> Bool {
        switch (a, b) {
        case (.null, .null): return false
        case (.null, _): return true
        case (_, .null): return false
        case (.bool(let x), .bool(let y)): return !x && y
        case (.int(let x), .int(let y)): return x < y
        case (.double(let x), .double(let y)): return x < y
        case (.int(let x), .double(let y)): return Double(x) < y
        case (.double(let x), .int(let y)): return x < Double(y)
        case (.string(let x), .string(let y)): return caseFolded ? x < y : x.lowercased() < y.lowercased()
        case (.dateTime(let x), .dateTime(let y)): return x < y
        case (.date(let x), .date(let y)): return x < y
        default: return a.kindRank < b.kindRank
        }
    }

    private var kindRank: Int {
        switch self {
        case .null: return 0
        case .bool: return 1
        case .int, .double: return 2
        case .dateTime: return 3
        case .date: return 4
        case .string: return 5
        case .json: return 6
        }
    }
}
