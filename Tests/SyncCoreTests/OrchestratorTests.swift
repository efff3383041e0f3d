import Testing
@testable import SyncCore

@Suite("Orchestrator state machine")
struct OrchestratorTests {
    static func graph() throws -> DependencyGraph {
        try DependencyGraph.build(from: manifest([
            ("Campus", []), ("Household", []), ("GroupType", []),
            ("Person", [("Campus", .soft), ("Household", .soft)]),
            ("Group", [("GroupType", .hard)]),
            ("Email", [("Person", .hard)]),
            ("Membership", [("Group", .hard), ("Person", .hard)]),
        ]))
    }

    @Test("entities start as soon as their hard dependencies completed; the run completes at the end")
    func dispatchOrder() throws {
        var orchestrator = Orchestrator(graph: try Self.graph())
        var dispatched = orchestrator.decide().compactMap { if case .dispatch(let entity) = $0 { entity } else { nil } }
        // Person has only soft dependencies, so it starts at once with level 0.
        #expect(dispatched == ["Campus", "Household", "GroupType", "Person"])
        for entity in dispatched { orchestrator.apply(.dispatched(entity: entity)) }
        orchestrator.apply(.entityCompleted(entity: "Person"))
        dispatched = orchestrator.decide().compactMap { if case .dispatch(let entity) = $0 { entity } else { nil } }
        #expect(dispatched == ["Email"], "Membership still waits for Group")
        orchestrator.apply(.dispatched(entity: "Email"))
        for entity in ["Campus", "Household", "GroupType", "Email"] { orchestrator.apply(.entityCompleted(entity: entity)) }
        #expect(orchestrator.decide() == [.dispatch(entity: "Group")])
        orchestrator.apply(.dispatched(entity: "Group"))
        orchestrator.apply(.entityCompleted(entity: "Group"))
        #expect(orchestrator.decide() == [.dispatch(entity: "Membership")])
        orchestrator.apply(.dispatched(entity: "Membership"))
        #expect(orchestrator.decide().isEmpty)
        orchestrator.apply(.entityCompleted(entity: "Membership"))
        #expect(orchestrator.decide() == [.completeRun])
        #expect(orchestrator.decide().isEmpty, "the end is decided once")
    }

    @Test("a failed entity skips its hard dependents and fails the run once the rest is done")
    func failure() throws {
        var orchestrator = Orchestrator(graph: try Self.graph(), maximumConcurrentEntities: 2)
        let first = orchestrator.decide()
        #expect(first == [.dispatch(entity: "Campus"), .dispatch(entity: "Household")], "at most two at once")
        for case .dispatch(let entity) in first { orchestrator.apply(.dispatched(entity: entity)) }
        orchestrator.apply(.entityCompleted(entity: "Campus"))
        orchestrator.apply(.entityCompleted(entity: "Household"))
        var pending = orchestrator.decide()
        while !pending.isEmpty {
            for action in pending {
                guard case .dispatch(let entity) = action else { continue }
                orchestrator.apply(.dispatched(entity: entity))
                if entity == "Person" { orchestrator.apply(.entityFailed(entity: "Person", reason: "401 invalid_grant")) }
                else { orchestrator.apply(.entityCompleted(entity: entity)) }
            }
            if case .failRun(let reason)? = pending.last {
                #expect(reason.contains("Person failed: 401 invalid_grant"))
                #expect(reason.contains("Email skipped") && reason.contains("Membership skipped"))
                return
            }
            pending = orchestrator.decide()
        }
        Issue.record("the run never failed")
    }

    @Test("replaying the journaled events rebuilds the same decisions (leader failover)")
    func replay() throws {
        var live = Orchestrator(graph: try Self.graph())
        var journal: [Orchestrator.Event] = []
        for case .dispatch(let entity) in live.decide() {
            live.apply(.dispatched(entity: entity)); journal.append(.dispatched(entity: entity))
        }
        live.apply(.entityCompleted(entity: "GroupType")); journal.append(.entityCompleted(entity: "GroupType"))
        var replayed = Orchestrator(graph: try Self.graph())
        for event in journal { replayed.apply(event) }
        #expect(replayed.dispatchedEntities == live.dispatchedEntities)
        #expect(replayed.decide() == live.decide())
    }
}
