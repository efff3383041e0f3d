/// The orchestrator of one sync run as a state machine: from the dependency graph it decides which
/// entity-sync workflows to dispatch, each as soon as its hard dependencies have completed, and when
/// the run is over. Events are journaled; replaying them rebuilds the same state.
///
/// Entity states: waiting -> dispatched -> completed | failed; an entity whose hard dependency failed
/// is `skipped` and never dispatched. The run completes when every entity completed, and fails
/// (naming the failed entities) once nothing more can run and some entity failed or was skipped.
public struct Orchestrator: Sendable, Hashable {
    public enum EntityState: Sendable, Hashable {
        case waiting
        case dispatched
        case completed
        case failed(reason: String)
        case skipped(because: String)
    }

    public enum Event: Sendable, Hashable, Codable {
        case dispatched(entity: String)
        case entityCompleted(entity: String)
        case entityFailed(entity: String, reason: String)
    }

    public enum Action: Sendable, Hashable {
        case dispatch(entity: String)
        case completeRun
        case failRun(reason: String)
    }

    public let graph: DependencyGraph
    /// At most this many entity workflows of the run at once.
    public let maximumConcurrentEntities: Int
    public private(set) var states: [String: EntityState]
    private var finished = false

    public init(graph: DependencyGraph, maximumConcurrentEntities: Int = 6) {
        precondition(maximumConcurrentEntities > 0, "maximumConcurrentEntities must be positive")
        self.graph = graph
        self.maximumConcurrentEntities = maximumConcurrentEntities
        states = Dictionary(uniqueKeysWithValues: graph.levels.flatMap { $0 }.map { ($0, EntityState.waiting) })
    }

    /// Folds a journaled event into the state.
    public mutating func apply(_ event: Event) {
        switch event {
        case .dispatched(let entity): states[entity] = .dispatched
        case .entityCompleted(let entity): states[entity] = .completed
        case .entityFailed(let entity, let reason): states[entity] = .failed(reason: reason)
        }
    }

    /// What to do now: dispatches for every ready entity (journal each as `.dispatched` before sending),
    /// or the end of the run. Entities ready at once go in level order.
    public mutating func decide() -> [Action] {
        guard !finished else { return [] }
        skipBlockedEntities()
        var running = states.values.filter { $0 == .dispatched }.count
        var actions: [Action] = []
        for entity in graph.levels.flatMap({ $0 }) where states[entity] == .waiting && running < maximumConcurrentEntities {
            guard graph.hardDependencies(of: entity).allSatisfy({ states[$0] == .completed }) else { continue }
            actions.append(.dispatch(entity: entity))
            running += 1
        }
        if actions.isEmpty && running == 0 {
            finished = true
            let problems = graph.levels.flatMap { $0 }.compactMap { entity -> String? in
                switch states[entity]! {
                case .failed(let reason): "\(entity) failed: \(reason)"
                case .skipped(let because): "\(entity) skipped: \(because)"
                default: nil
                }
            }
            actions.append(problems.isEmpty ? .completeRun : .failRun(reason: problems.joined(separator: "; ")))
        }
        return actions
    }

    public var dispatchedEntities: [String] {
        graph.levels.flatMap { $0 }.filter { states[$0] == .dispatched }
    }

    /// Entities whose hard dependency failed or was skipped can never run.
    private mutating func skipBlockedEntities() {
        var changed = true
        while changed {
            changed = false
            for entity in graph.levels.flatMap({ $0 }) where states[entity] == .waiting {
                if let blocker = graph.hardDependencies(of: entity).first(where: {
                    switch states[$0]! {
                    case .failed, .skipped: true
                    default: false
                    }
                }) {
                    states[entity] = .skipped(because: "its hard dependency \(blocker) did not complete")
                    changed = true
                }
            }
        }
    }
}
