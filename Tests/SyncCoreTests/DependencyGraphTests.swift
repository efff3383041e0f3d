import Testing
@testable import SyncCore

@Suite("Dependency graph")
struct DependencyGraphTests {
    @Test("levels follow hard and soft edges, entities without dependencies come first")
    func simpleLevels() throws {
        let graph = try DependencyGraph.build(from: manifest([
            ("Child", [("Parent", .hard)]),
            ("Parent", []),
            ("Grandchild", [("Child", .hard), ("Other", .soft)]),
            ("Other", []),
        ]))
        #expect(graph.levels == [["Parent", "Other"], ["Child"], ["Grandchild"]])
        #expect(graph.hardDependencies(of: "Grandchild") == ["Child"])
        #expect(Set(graph.dependencies(of: "Grandchild")) == ["Child", "Other"])
        #expect(graph.dropped.isEmpty)
    }

    @Test("an empty manifest has no levels and no edges")
    func emptyManifest() throws {
        let graph = try DependencyGraph.build(from: EntityManifest(adapter: "empty", entities: []))
        #expect(graph.levels.isEmpty)
        #expect(graph.edges.isEmpty)
        #expect(graph.renderText() == "edges:")
    }

    @Test("a cycle among hard edges is an error naming the cycle")
    func hardCycle() {
        let cyclic = manifest([
            ("A", [("C", .hard)]),
            ("B", [("A", .hard)]),
            ("C", [("B", .hard)]),
            ("D", []),
        ])
        #expect {
            try DependencyGraph.build(from: cyclic)
        } throws: { error in
            guard case .hardCycle(_, let path) = error as? DependencyGraphError else { return false }
            // A closed path through exactly A, B and C.
            return path.first == path.last && Set(path) == ["A", "B", "C"] && path.count == 4
                && "\(error)".contains("cycle")
        }
    }

    @Test("a hard self-loop is a cycle of one entity")
    func hardSelfLoop() {
        #expect {
            try DependencyGraph.build(from: manifest([("A", [("A", .hard)])]))
        } throws: { error in
            guard case .hardCycle(_, let path) = error as? DependencyGraphError else { return false }
            return path == ["A", "A"]
        }
    }

    @Test("a soft self-loop is dropped with a warning that names it")
    func softSelfLoop() throws {
        let graph = try DependencyGraph.build(from: manifest([("Person", [("Person", .soft)])]))
        #expect(graph.levels == [["Person"]])
        #expect(graph.edges.isEmpty)
        #expect(graph.dropped.count == 1)
        #expect(graph.dropped.first?.description.contains("Person -> Person") == true)
    }

    @Test("a soft edge that would close a cycle is dropped; declaration order decides which")
    func softCycleBroken() throws {
        // Household (declared first) -> Person is kept; Person -> Household would close the cycle.
        let graph = try DependencyGraph.build(from: manifest([
            ("Household", [("Person", .soft)]),
            ("Person", [("Household", .soft)]),
        ]))
        #expect(graph.levels == [["Household"], ["Person"]])
        #expect(graph.edges.map { "\($0.from)->\($0.to)" } == ["Household->Person"])
        #expect(graph.dropped.map { "\($0.edge.from)->\($0.edge.to)" } == ["Person->Household"])
        #expect(graph.renderText().contains("warning: dropped soft edge Person -> Household"))
    }

    @Test("a soft edge against a hard path is dropped, never the hard one")
    func softAgainstHard() throws {
        let graph = try DependencyGraph.build(from: manifest([
            ("A", [("B", .soft)]),
            ("B", [("A", .hard)]),
        ]))
        #expect(graph.levels == [["A"], ["B"]])
        #expect(graph.edges.map(\.kind) == [.hard])
        #expect(graph.dropped.count == 1)
    }

    @Test("relationships to unknown entities are an error naming every one")
    func unknownReferences() {
        #expect {
            try DependencyGraph.build(from: manifest([
                ("A", [("Missing", .hard)]),
                ("B", [("AlsoMissing", .soft), ("A", .hard)]),
            ]))
        } throws: { error in
            guard case .unknownEntities(_, let references) = error as? DependencyGraphError else { return false }
            let text = "\(error)"
            return references.map(\.target) == ["Missing", "AlsoMissing"]
                && text.contains("Missing") && text.contains("AlsoMissing") && text.contains("A.missing_0")
        }
    }

    @Test("a malformed manifest is an error naming the entity and the problem")
    func malformedManifest() {
        var broken = manifest([("A", []), ("A", [])])
        broken.entities.append(EntityDefinition(
            name: "Paged", typeNames: ["Paged"],
            endpoint: ListEndpoint(path: "/paged", perPage: 500, defaultOrder: "name"),
            hasUpdatedAt: false
        ))
        #expect {
            try DependencyGraph.build(from: broken)
        } throws: { error in
            guard case .invalidManifest(let problems) = error as? DependencyGraphError else { return false }
            let codes = Set(problems.map(\.code))
            let text = "\(error)"
            return codes == [.duplicateEntity, .invalidPerPage, .defaultOrderNotOrderable]
                && text.contains("entity 'Paged'") && text.contains("per_page 500") && text.contains("entity 'A'")
        }
    }

    @Test("the same manifest always gives the same graph")
    func deterministic() throws {
        let input = manifest([
            ("E", [("C", .hard), ("D", .soft)]),
            ("D", [("A", .soft)]),
            ("C", [("A", .hard), ("B", .hard)]),
            ("B", []),
            ("A", [("D", .soft)]),
        ])
        let first = try DependencyGraph.build(from: input)
        for _ in 0..<20 {
            #expect(try DependencyGraph.build(from: input) == first)
        }
    }

    @Test("random DAGs: every edge goes to a later level and no level could merge with the one before", arguments: 0..<8)
    func randomDAGs(batch: Int) throws {
        var random = SeededGenerator(seed: UInt64(batch) &* 7919 &+ 1)
        for _ in 0..<50 {
            let count = Int.random(in: 1...30, using: &random)
            // Edges only from lower to higher positions of a shuffled order: acyclic by construction.
            let order = (0..<count).shuffled(using: &random)
            var relationships = Array(repeating: [(String, DependencyKind)](), count: count)
            for later in 0..<count {
                for earlier in 0..<later where Double.random(in: 0..<1, using: &random) < 0.15 {
                    let kind: DependencyKind = Bool.random(using: &random) ? .hard : .soft
                    relationships[order[later]].append(("E\(order[earlier])", kind))
                }
            }
            let input = manifest((0..<count).map { ("E\($0)", relationships[$0]) })
            let graph = try DependencyGraph.build(from: input)

            #expect(graph.dropped.isEmpty, "no soft edge closes a cycle in a DAG")
            #expect(graph.levels.flatMap { $0 }.sorted() == input.entities.map(\.name).sorted())
            let level = Dictionary(uniqueKeysWithValues: graph.levels.enumerated().flatMap { number, names in
                names.map { ($0, number) }
            })
            let declared = input.entities.reduce(0) { $0 + $1.relationships.count }
            #expect(graph.edges.count <= declared)
            for entity in input.entities {
                for relationship in entity.relationships {
                    #expect(level[relationship.target]! < level[entity.name]!,
                            "\(relationship.target) -> \(entity.name) must go to a later level")
                }
            }
            for (number, names) in graph.levels.enumerated() where number > 0 {
                for name in names {
                    #expect(graph.dependencies(of: name).contains { level[$0] == number - 1 },
                            "\(name) in level \(number) has no dependency in level \(number - 1)")
                }
            }
        }
    }

    @Test("DOT output draws hard edges solid and soft edges dashed")
    func dotRendering() throws {
        let graph = try DependencyGraph.build(from: manifest([("P", []), ("C", [("P", .hard)]), ("S", [("P", .soft)])]))
        let dot = graph.renderDOT(name: "t")
        #expect(dot.hasPrefix("digraph \"t\" {"))
        #expect(dot.contains("\"P\" -> \"C\" [style=solid"))
        #expect(dot.contains("\"P\" -> \"S\" [style=dashed"))
    }
}
