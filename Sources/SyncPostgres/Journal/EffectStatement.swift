import PostgresNIO

/// The one data-modifying statement (`INSERT`, `UPDATE` or `DELETE`) that a step commits together
/// with its journal row, written like a `PostgresQuery`: `"UPDATE t SET x = \(value) WHERE id = \(id)"`.
///
/// Unlike `PostgresQuery` it keeps its values apart from its SQL until it is rendered, so that the
/// group committer can number the parameters of several statements into ONE statement
/// (`$1…$k` for the first, `$k+1…` for the next); a `PostgresQuery`'s `$n` are fixed in its text
/// and its bindings cannot be concatenated.
public struct EffectStatement: Sendable, ExpressibleByStringInterpolation {
    fileprivate enum Part: Sendable {
        case literal(String)
        case parameter
    }

    private var parts: [Part]
    private var values: [@Sendable (inout PostgresBindings) -> Void]

    public init(stringLiteral value: String) {
        parts = [.literal(value)]
        values = []
    }

    public init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
        values = stringInterpolation.values
    }

    /// Appends the statement's values to `binds` and returns its SQL with its parameters numbered
    /// after the ones `binds` already held. A trailing semicolon is dropped: inside `WITH … AS (…)`
    /// it would end the statement early.
    public func render(appendingTo binds: inout PostgresBindings) -> String {
        var sql = ""
        var next = values.startIndex
        for part in parts {
            switch part {
            case .literal(let text):
                sql += text
            case .parameter:
                values[next](&binds)
                next += 1
                sql += "$\(binds.count)"
            }
        }
        while let last = sql.last, last == ";" || last.isWhitespace { sql.removeLast() }
        return sql
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var parts: [Part] = []
        fileprivate var values: [@Sendable (inout PostgresBindings) -> Void] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(interpolationCount * 2 + 1)
            values.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            parts.append(.literal(literal))
        }

        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable & Sendable>(_ value: Value) {
            parts.append(.parameter)
            values.append { $0.append(value) }
        }

        /// `nil` binds SQL NULL (of unknown type, as in `PostgresQuery`: cast it where the type matters).
        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable & Sendable>(_ value: Value?) {
            parts.append(.parameter)
            values.append { $0.append(value) }
        }

        /// Text pasted into the SQL as it is: never a value that came from outside.
        public mutating func appendInterpolation(unescaped text: String) {
            parts.append(.literal(text))
        }
    }
}
