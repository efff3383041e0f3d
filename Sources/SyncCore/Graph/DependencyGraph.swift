/// The order in which a manifest's entities can be synced.
///
/// Built from a manifest by ``build(from:)``: an edge `from -> to` means `to` points at `from`
/// (Person -> Address: an address belongs to a person), so `from` is synced first. Levels are the
/// longest-path layering of the accepted edges: every entity sits one level after its deepest
/// dependency, so nothing in a level depends on anything else in it, and every entity past level 0
/// has a dependency in the level right before it (no level could be merged into its predecessor).
public struct DependencyGraph: Sendable, Hashable, Codable {
    public struct Edge: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The dependency, synced first.
        public var from: String
        /// The dependent entity.
        public var to: String
        public var kind: DependencyKind
        /// The relationship of `to` that produced the edge.
        public var relationship: String

        public init(from: String, to: String, kind: DependencyKind, relationship: String) {
            self.from = from
            self.to = to
            self.kind = kind
            self.relationship = relationship
        }

        public var description: String { "\(from) -> \(to) (\(kind.rawValue), \(to).\(relationship))" }
    }

    /// A soft edge left out because it would have closed a cycle.
    public struct DroppedEdge: Sendable, Hashable, Codable, CustomStringConvertible {
        public var edge: Edge
        /// The path that already leads from `edge.to` back to `edge.from`.
        public var cycle: [String]

        public var description: String {
            "dropped soft edge \(edge): it would close the cycle \(cycle.joined(separator: " -> "))"
        }
    }

    public var levels: [[String]]
    /// The edges kept, ordered by the level of their target, then declaration order.
    public var edges: [Edge]
    /// Soft edges dropped to break cycles; callers report them as warnings.
    public var dropped: [DroppedEdge]

    /// The entities `entity` waits for: the sources of its kept edges of any kind.
    public func dependencies(of entity: String) -> [String] {
        edges.filter { $0.to == entity }.map(\.from)
    }

    /// Only hard dependencies: what must be complete before `entity` may start.
    public func hardDependencies(of entity: String) -> [String] {
        edges.filter { $0.to == entity && $0.kind == .hard }.map(\.from)
    }

    public func level(of entity: String) -> Int? {
        levels.firstIndex { $0.contains(entity) }
    }
}

/// Why a manifest has no dependency graph.
public enum DependencyGraphError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A cycle among hard edges, as a path that starts and ends with the same entity.
    case hardCycle(adapter: String, path: [String])
    /// Relationships or nesting that name entities the manifest does not have: (entity, relationship, target).
    case unknownEntities(adapter: String, references: [UnknownReference])
    case invalidManifest([ManifestError])

    public struct UnknownReference: Sendable, Hashable, CustomStringConvertible {
        public var entity: String
        public var relationship: String
        public var target: String
        public var description: String { "\(entity).\(relationship) -> \(target)" }
    }

    public var description: String {
        switch self {
        case .hardCycle(let adapter, let path):
            return "manifest '\(adapter)': hard dependencies form a cycle \(path.joined(separator: " -> ")); "
                + "make one of these relationships soft or remove it"
        case .unknownEntities(let adapter, let references):
            let names = Set(references.map(\.target)).sorted().joined(separator: ", ")
            let list = references.map(\.description).joined(separator: "; ")
            return "manifest '\(adapter)': relationships point to unknown entities \(names) (\(list))"
        case .invalidManifest(let errors):
            return errors.map(\.description).joined(separator: "\n")
        }
    }
}

extension DependencyGraph {
    /// Builds the graph of a manifest.
    ///
    /// Hard edges are all kept; a cycle among them is an error naming it. Soft edges are then added one
    /// at a time in a fixed order (by the declaration index of their dependency, then of the dependent,
    /// then relationship name), and one that would close a cycle is dropped and reported in `dropped`.
    /// Declaration order thus decides which of two conflicting soft edges wins, deterministically.
    public static func build(from manifest: EntityManifest) throws(DependencyGraphError) -> DependencyGraph {
        let problems = manifest.validationErrors()
        guard problems.isEmpty else { throw .invalidManifest(problems) }

        let index = Dictionary(uniqueKeysWithValues: manifest.entities.enumerated().map { ($1.name, $0) })
        var unknown: [DependencyGraphError.UnknownReference] = []
        var hard: [Edge] = []
        var soft: [Edge] = []
        for entity in manifest.entities {
            for relationship in entity.relationships {
                guard index[relationship.target] != nil else {
                    unknown.append(.init(entity: entity.name, relationship: relationship.name, target: relationship.target))
                    continue
                }
                let edge = Edge(from: relationship.target, to: entity.name, kind: relationship.dependency,
                                relationship: relationship.name)
                switch relationship.dependency {
                case .hard: hard.append(edge)
                case .soft: soft.append(edge)
                }
            }
        }
        guard unknown.isEmpty else { throw .unknownEntities(adapter: manifest.adapter, references: unknown) }

        var adjacency = Adjacency(count: manifest.entities.count)
        for edge in hard {
            adjacency.add(from: index[edge.from]!, to: index[edge.to]!)
        }
        if let cycle = adjacency.findCycle() {
            throw .hardCycle(adapter: manifest.adapter, path: cycle.map { manifest.entities[$0].name })
        }

        // Several relationships may produce the same pair (e.g. two links to Person); keep the first
        // and let a hard one win over a soft one.
        var kept: [Edge] = []
        var keptPairs: Set<[Int]> = []
        for edge in hard where keptPairs.insert([index[edge.from]!, index[edge.to]!]).inserted {
            kept.append(edge)
        }
        var dropped: [DroppedEdge] = []
        let softOrdered = soft.sorted {
            (index[$0.from]!, index[$0.to]!, $0.relationship) < (index[$1.from]!, index[$1.to]!, $1.relationship)
        }
        for edge in softOrdered {
            let from = index[edge.from]!, to = index[edge.to]!
            if keptPairs.contains([from, to]) { continue }
            if let back = adjacency.path(from: to, to: from) {
                dropped.append(DroppedEdge(edge: edge, cycle: (back + [to]).map { manifest.entities[$0].name }))
                continue
            }
            adjacency.add(from: from, to: to)
            keptPairs.insert([from, to])
            kept.append(edge)
        }

        let depth = adjacency.longestPathDepths()
        let levelCount = (depth.max() ?? -1) + 1
        var levels = Array(repeating: [String](), count: levelCount)
        for (position, entity) in manifest.entities.enumerated() {
            levels[depth[position]].append(entity.name)
        }
        kept.sort {
            (depth[index[$0.to]!], index[$0.to]!, index[$0.from]!) < (depth[index[$1.to]!], index[$1.to]!, index[$1.from]!)
        }
        return DependencyGraph(levels: levels, edges: kept, dropped: dropped)
    }
}

/// Directed graph over declaration indices, with the few algorithms the builder needs.
private struct Adjacency {
    private var successors: [[Int]]

    init(count: Int) { successors = Array(repeating: [], count: count) }

    mutating func add(from: Int, to: Int) { successors[from].append(to) }

    /// A cycle as a closed path (first == last), found by an iterative three-colour DFS
    /// started from each node in declaration order, so the same graph always reports the same cycle.
    func findCycle() -> [Int]? {
        enum Colour { case white, grey, black }
        var colour = Array(repeating: Colour.white, count: successors.count)
        for root in successors.indices where colour[root] == .white {
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            colour[root] = .grey
            while let top = stack.last {
                if top.next < successors[top.node].count {
                    stack[stack.count - 1].next += 1
                    let child = successors[top.node][top.next]
                    switch colour[child] {
                    case .grey:
                        let start = stack.firstIndex { $0.node == child }!
                        return stack[start...].map(\.node) + [child]
                    case .white:
                        colour[child] = .grey
                        stack.append((child, 0))
                    case .black:
                        break
                    }
                } else {
                    colour[top.node] = .black
                    stack.removeLast()
                }
            }
        }
        return nil
    }

    /// A path from `start` to `goal` (both included), breadth first, or nil.
    func path(from start: Int, to goal: Int) -> [Int]? {
        var previous = Array(repeating: -1, count: successors.count)
        var visited = Array(repeating: false, count: successors.count)
        var queue = [start]
        visited[start] = true
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            if node == goal {
                var path = [goal]
                var cursor = goal
                while cursor != start {
                    cursor = previous[cursor]
                    path.append(cursor)
                }
                return path.reversed()
            }
            for next in successors[node] where !visited[next] {
                visited[next] = true
                previous[next] = node
                queue.append(next)
            }
        }
        return nil
    }

    /// For each node, the length of the longest path reaching it (Kahn's order; the graph is acyclic).
    func longestPathDepths() -> [Int] {
        var indegree = Array(repeating: 0, count: successors.count)
        for targets in successors { for target in targets { indegree[target] += 1 } }
        var depth = Array(repeating: 0, count: successors.count)
        var ready = indegree.indices.filter { indegree[$0] == 0 }
        var head = 0
        while head < ready.count {
            let node = ready[head]
            head += 1
            for next in successors[node] {
                depth[next] = max(depth[next], depth[node] + 1)
                indegree[next] -= 1
                if indegree[next] == 0 { ready.append(next) }
            }
        }
        precondition(head == successors.count, "longestPathDepths on a cyclic graph: \(successors)")
        return depth
    }
}
