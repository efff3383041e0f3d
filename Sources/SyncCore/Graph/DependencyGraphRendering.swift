/// Text and Graphviz renderings of a dependency graph; JSON comes from `Codable` (see ``DependencyGraph/Document``).
extension DependencyGraph {
    /// The JSON shape printed by `syncengine graph --format json`.
    public struct Document: Sendable, Hashable, Codable {
        public struct Edge: Sendable, Hashable, Codable {
            public var from: String
            public var to: String
            public var kind: DependencyKind
        }
        public var levels: [[String]]
        public var edges: [Edge]
    }

    public var document: Document {
        Document(levels: levels, edges: edges.map { .init(from: $0.from, to: $0.to, kind: $0.kind) })
    }

    /// One line per level, then the edges, then any dropped soft edges.
    public func renderText() -> String {
        var lines: [String] = []
        for (number, level) in levels.enumerated() {
            lines.append("level \(number): \(level.joined(separator: ", "))")
        }
        lines.append("edges:")
        for edge in edges {
            lines.append("  \(edge.from) -> \(edge.to) [\(edge.kind.rawValue), via \(edge.to).\(edge.relationship)]")
        }
        for drop in dropped {
            lines.append("warning: \(drop)")
        }
        return lines.joined(separator: "\n")
    }

    /// Graphviz DOT: one rank per level, hard edges solid, soft edges dashed.
    public func renderDOT(name: String = "sync") -> String {
        var lines = ["digraph \"\(name)\" {", "  rankdir=LR;", "  node [shape=box];"]
        for level in levels {
            lines.append("  { rank=same; " + level.map { "\"\($0)\";" }.joined(separator: " ") + " }")
        }
        for edge in edges {
            let style = edge.kind == .hard ? "solid" : "dashed"
            lines.append("  \"\(edge.from)\" -> \"\(edge.to)\" [style=\(style), label=\"\(edge.relationship)\"];")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}
