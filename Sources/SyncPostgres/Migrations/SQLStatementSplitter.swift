/// Splits a SQL script into its statements.
///
/// PostgresNIO speaks the extended query protocol, which accepts one statement per query, so a
/// migration file is executed statement by statement inside one transaction. Semicolons inside
/// string literals, quoted identifiers, comments and dollar-quoted bodies do not split.
public enum SQLStatementSplitter {
    public static func split(_ script: String) -> [String] {
        let characters = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let statement = String(current).trimmingWhitespace()
            if !statement.isEmpty && !isOnlyComments(statement) { statements.append(statement) }
            current = String.UnicodeScalarView()
        }
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        /// Copies characters up to and including `terminator`, or to the end.
        func copy(until terminator: [Unicode.Scalar]) {
            while index < characters.count {
                if Array(characters[index..<min(index + terminator.count, characters.count)]) == terminator {
                    current.append(contentsOf: terminator)
                    index += terminator.count
                    return
                }
                current.append(characters[index])
                index += 1
            }
        }

        while index < characters.count {
            let character = characters[index]
            switch character {
            case "-" where peek(1) == "-":
                copy(until: ["\n"])
            case "/" where peek(1) == "*":
                current.append(contentsOf: ["/", "*"])
                index += 2
                copy(until: ["*", "/"])
            case "'", "\"":
                // A doubled quote inside the literal ends one copy and starts the next: same result.
                current.append(character)
                index += 1
                copy(until: [character])
            case "$":
                // A dollar-quote tag is $$ or $identifier$; a positional parameter ($1) is not one.
                var end = index + 1
                while end < characters.count, characters[end] == "_" || characters[end].properties.isAlphabetic
                        || (end > index + 1 && characters[end].properties.numericType != nil) {
                    end += 1
                }
                if end < characters.count, characters[end] == "$" {
                    let tag = Array(characters[index...end])
                    current.append(contentsOf: tag)
                    index = end + 1
                    copy(until: tag)
                } else {
                    current.append(character)
                    index += 1
                }
            case ";":
                index += 1
                flush()
            default:
                current.append(character)
                index += 1
            }
        }
        flush()
        return statements
    }

    private static func isOnlyComments(_ statement: String) -> Bool {
        statement.split(separator: "\n").allSatisfy { $0.trimmingWhitespace().isEmpty || $0.trimmingWhitespace().hasPrefix("--") }
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
