import PostgresNIO

/// What a step commits together with its journal row, written like a `PostgresQuery`:
/// `"UPDATE t SET x = \(value) WHERE id = \(id)"`. Either ONE data-modifying statement (`INSERT`,
/// `UPDATE` or `DELETE`), or a list of data-modifying common table expressions
/// (`a AS (INSERT …), b AS (…)`, see ``init(commonTableExpressions:)``) for an effect that needs
/// several statements that see each other's results, as a page of canonical rows does.
///
/// Unlike `PostgresQuery` it keeps its values apart from its SQL until it is rendered, so that the
/// group committer can number the parameters of several statements into ONE statement
/// (`$1…$k` for the first, `$k+1…` for the next); a `PostgresQuery`'s `$n` are fixed in its text
/// and its bindings cannot be concatenated.
public struct EffectStatement: Sendable, ExpressibleByStringInterpolation {
    fileprivate enum Part: Sendable {
        case literal(String)
        case parameter
        /// The name of one of the effect's own common table expressions.
        case expressionName(String)
    }

    public enum Shape: Sendable, Hashable {
        /// One statement: it is embedded as `WITH name AS (statement)`.
        case statement
        /// Named common table expressions, embedded in a `WITH` list as they are, every name
        /// written with `\(expression:)` prefixed so that several effects never share one.
        case commonTableExpressions
    }

    public let shape: Shape
    private var parts: [Part]
    private var values: [@Sendable (inout PostgresBindings) -> Void]

    public init(stringLiteral value: String) {
        shape = .statement
        parts = [.literal(value)]
        values = []
    }

    public init(stringInterpolation: StringInterpolation) {
        shape = .statement
        parts = stringInterpolation.parts
        values = stringInterpolation.values
    }

    /// An effect made of data-modifying common table expressions, `a AS (…), b AS (…)`: the pieces
    /// joined by commas. Each names its expressions (where they are defined and where they are
    /// read) with `\(expression: "a")`. Postgres runs every data-modifying one exactly once, read
    /// or not, all on one snapshot.
    public init(commonTableExpressions pieces: [EffectStatement]) {
        shape = .commonTableExpressions
        parts = []
        values = []
        for (offset, piece) in pieces.enumerated() {
            if offset > 0 { parts.append(.literal(",\n")) }
            parts += piece.parts
            values += piece.values
        }
    }

    /// Appends the statement's values to `binds` and returns its SQL with its parameters numbered
    /// after the ones `binds` already held, and the names of its common table expressions
    /// prefixed with `namePrefix`. A trailing semicolon is dropped: inside `WITH … AS (…)` it would
    /// end the statement early.
    public func render(appendingTo binds: inout PostgresBindings, namePrefix: String = "") -> String {
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
            case .expressionName(let name):
                sql += namePrefix + name
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

        /// `nil` is written as `NULL` in the text (of unknown type: cast it where the type matters),
        /// not bound: a text then always binds the same types, which a prepared statement needs
        /// (see ``PreparedStatements``).
        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable & Sendable>(_ value: Value?) {
            guard let value else {
                parts.append(.literal("NULL"))
                return
            }
            appendInterpolation(value)
        }

        /// The name of one of the effect's own common table expressions (see
        /// ``EffectStatement/init(commonTableExpressions:)``).
        public mutating func appendInterpolation(expression name: String) {
            parts.append(.expressionName(name))
        }

        /// Text pasted into the SQL as it is: never a value that came from outside.
        public mutating func appendInterpolation(unescaped text: String) {
            parts.append(.literal(text))
        }
    }
}
