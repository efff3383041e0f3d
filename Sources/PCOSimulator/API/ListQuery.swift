/// A validated collection query: what to select, in which order, which page, and what to include.
struct ListQuery: Sendable {
    enum Comparison: String, Sendable, Hashable {
        case equal = "", gt, gte, lt, lte
    }

    /// A parsed `where` value, typed by the attribute it applies to.
    enum FilterValue: Sendable, Hashable {
        case text(String)
        case bool(Bool)
        case int(Int)
        case instant(Int64)
        /// A bare date on a date-time attribute, in the org's time zone: [start, end) in UTC seconds.
        case localDay(start: Int64, end: Int64)
        case days(Int)
    }

    struct Filter: Sendable, Hashable {
        var name: String
        var source: FilterSource
        var comparison: Comparison
        var value: FilterValue

        /// Whether the filter reads records of other kinds (a person's search covers their emails
        /// and phone numbers), so that a change to those changes which records it selects.
        var readsOtherKinds: Bool {
            if case .search = source { true } else { false }
        }
    }

    struct Order: Sendable, Hashable {
        var name: String
        var attributeIndex: Int
        var descending: Bool
    }

    var perPage = 25
    var offset = 0
    var order: Order?
    var filters: [Filter] = []
    /// Requested includes, deduplicated, in request order.
    var includes: [String] = []
    /// Sparse fieldsets, `fields[Type]=a,b`, keyed by JSON:API type.
    var fields: [String: Set<String>] = [:]
    /// The decoded query, echoed (sorted) in `links`.
    var echo: [(key: String, value: String)] = []
}

/// What to do with `per_page` above 100: PCO documents the maximum; answering 400 is the strict choice.
public enum PerPageOverflow: String, Sendable, Codable {
    case reject
    case clamp
}

/// Parses and validates a query against one resource kind's capabilities, naming the parameter at
/// fault in a PCO 400 error.
struct QueryParser {
    var schema: ResourceSchema
    var orgTimeZone: String
    var perPageOverflow: PerPageOverflow = .reject

    func parseList(_ pairs: [(key: String, value: String)]) throws(PCOAPIError) -> ListQuery {
        var query = ListQuery()
        query.echo = pairs
        for (key, value) in pairs {
            switch key {
            case "per_page":
                guard let n = Int(value) else {
                    throw .badRequest(code: "invalid_per_page", detail: "per_page must be an integer between 1 and 100", parameter: "per_page")
                }
                if n > 100, perPageOverflow == .clamp {
                    query.perPage = 100
                } else if n < 1 || n > 100 {
                    throw .badRequest(code: "invalid_per_page", detail: "per_page must be between 1 and 100, got \(n)", parameter: "per_page")
                } else {
                    query.perPage = n
                }
            case "offset":
                guard let n = Int(value), n >= 0 else {
                    throw .badRequest(code: "invalid_offset", detail: "offset must be a non-negative integer", parameter: "offset")
                }
                query.offset = n
            case "order":
                let descending = value.hasPrefix("-")
                let name = descending ? String(value.dropFirst()) : value
                guard let index = schema.orderIndexes[name] else {
                    throw .badRequest(
                        code: "invalid_order",
                        detail: "Cannot order \(schema.typeName) by `\(name)`; allowed: \(schema.canOrderBy.joined(separator: ", "))",
                        parameter: "order"
                    )
                }
                query.order = ListQuery.Order(name: name, attributeIndex: index, descending: descending)
            case "include":
                query.includes = try parseIncludes(value)
            case "filter":
                for name in value.split(separator: ",").map(String.init) where !schema.canFilter.contains(name) {
                    throw .badRequest(code: "invalid_filter", detail: "Unknown filter `\(name)` for \(schema.typeName)", parameter: "filter")
                }
            default:
                if key.hasPrefix("where[") {
                    query.filters.append(try parseWhere(key: key, value: value))
                } else if key.hasPrefix("fields["), key.hasSuffix("]") {
                    let type = String(key.dropFirst("fields[".count).dropLast())
                    query.fields[type] = Set(value.split(separator: ",").map(String.init))
                }
                // Any other parameter is ignored, as PCO ignores parameters it does not know.
            }
        }
        return query
    }

    /// Only `include` and `fields` apply to a single-resource GET.
    func parseSingle(_ pairs: [(key: String, value: String)]) throws(PCOAPIError) -> ListQuery {
        var query = ListQuery()
        for (key, value) in pairs {
            if key == "include" {
                query.includes = try parseIncludes(value)
            } else if key.hasPrefix("fields["), key.hasSuffix("]") {
                query.fields[String(key.dropFirst("fields[".count).dropLast())] = Set(value.split(separator: ",").map(String.init))
            }
        }
        return query
    }

    private func parseIncludes(_ value: String) throws(PCOAPIError) -> [String] {
        var result: [String] = []
        for name in value.split(separator: ",").map(String.init) where !result.contains(name) {
            guard schema.includeSources[name] != nil else {
                throw .badRequest(
                    code: "invalid_include",
                    detail: "Cannot include `\(name)` on \(schema.typeName); allowed: \(schema.canInclude.joined(separator: ", "))",
                    parameter: "include"
                )
            }
            result.append(name)
        }
        return result
    }

    /// `where[attr]` or `where[attr][gt|gte|lt|lte]`.
    private func parseWhere(key: String, value: String) throws(PCOAPIError) -> ListQuery.Filter {
        let inner = key.dropFirst("where[".count)
        guard let close = inner.firstIndex(of: "]") else {
            throw .badRequest(code: "invalid_where", detail: "Malformed parameter `\(key)`", parameter: key)
        }
        let name = String(inner[..<close])
        let rest = inner[inner.index(after: close)...]
        var comparison = ListQuery.Comparison.equal
        if !rest.isEmpty {
            guard rest.hasPrefix("["), rest.hasSuffix("]"),
                  let c = ListQuery.Comparison(rawValue: String(rest.dropFirst().dropLast())), c != .equal
            else {
                throw .badRequest(code: "invalid_where", detail: "Unsupported comparison in `\(key)`; use gt, gte, lt or lte", parameter: key)
            }
            comparison = c
        }
        guard let source = schema.filterSources[name] else {
            throw .badRequest(
                code: "invalid_where",
                detail: "Cannot query \(schema.typeName) by `\(name)`; allowed: \(schema.canQueryBy.joined(separator: ", "))",
                parameter: key
            )
        }
        let invalid = PCOAPIError.badRequest(code: "invalid_where", detail: "Invalid value `\(value)` for `\(key)`", parameter: key)
        switch source {
        case .attribute(_, let type):
            switch type {
            case .dateTime:
                guard let parsed = UTCTime.parse(value) else { throw invalid }
                switch parsed {
                case .instant(let t):
                    return .init(name: name, source: source, comparison: comparison, value: .instant(t))
                case .localDate(let days):
                    // PCO: a bare date means that day in the organization's time zone.
                    let start = UTCTime.startOfLocalDay(days: days, timeZone: orgTimeZone)
                    let end = UTCTime.startOfLocalDay(days: days + 1, timeZone: orgTimeZone)
                    return .init(name: name, source: source, comparison: comparison, value: .localDay(start: start, end: end))
                }
            case .date:
                guard case .localDate(let days)? = UTCTime.parse(String(value.prefix(10))) else { throw invalid }
                return .init(name: name, source: source, comparison: comparison, value: .days(days))
            case .int, .double:
                guard let n = Int(value) else { throw invalid }
                return .init(name: name, source: source, comparison: comparison, value: .int(n))
            case .bool:
                guard comparison == .equal, value == "true" || value == "false" else { throw invalid }
                return .init(name: name, source: source, comparison: comparison, value: .bool(value == "true"))
            case .string, .json:
                guard comparison == .equal else {
                    throw .badRequest(code: "invalid_where", detail: "`\(name)` does not support range comparisons", parameter: key)
                }
                return .init(name: name, source: source, comparison: comparison, value: .text(value))
            }
        case .id, .relationship:
            guard comparison == .equal, let n = Int(value) else { throw invalid }
            return .init(name: name, source: source, comparison: comparison, value: .int(n))
        case .search:
            guard comparison == .equal else { throw invalid }
            return .init(name: name, source: source, comparison: comparison, value: .text(value))
        case .archiveStatus:
            guard comparison == .equal, ["not_archived", "only", "include"].contains(value) else { throw invalid }
            return .init(name: name, source: source, comparison: comparison, value: .text(value))
        }
    }
}
