import Foundation
import Logging
import SyncCore
import SyncPostgres

/// The shell around ``Orchestrator`` for one run: replays the run's journal, journals every decision
/// under the leader term, runs the entity workflows it dispatches (entities of a level concurrently)
/// and finishes the run.
public struct RunCoordinator: Sendable {
    public struct Context: Sendable {
        public var run: RunRecord
        public var graph: DependencyGraph
        public var journal: JournalStore
        public var fence: WriteFence
        public var maximumConcurrentEntities: Int
        /// Runs one entity's workflow to its final state, on whichever node owns the org's shard.
        public var runEntity: @Sendable (RunRecord, String) async throws -> EntityRunOutcome
        public var logger: Logger

        public init(run: RunRecord, graph: DependencyGraph, journal: JournalStore, fence: WriteFence, maximumConcurrentEntities: Int,
                    runEntity: @escaping @Sendable (RunRecord, String) async throws -> EntityRunOutcome, logger: Logger) {
            self.run = run
            self.graph = graph
            self.journal = journal
            self.fence = fence
            self.maximumConcurrentEntities = maximumConcurrentEntities
            self.runEntity = runEntity
            self.logger = logger
        }
    }

    /// The orchestrator waits for an entity although none is running (its state and the task group
    /// disagree).
    public struct Stalled: Error, CustomStringConvertible {
        public var runID: UUID
        public var states: String
        public var description: String { "the orchestrator of run \(runID) waits with nothing running: \(states)" }
    }

    public static func workflowID(run: UUID) -> String { "run/\(run.uuidString.lowercased())" }

    let context: Context

    public init(context: Context) { self.context = context }

    /// Drives the run to a terminal state, or throws when interrupted (drain, lost leadership).
    public func run() async throws -> RunState {
        var logger = context.logger
        logger[metadataKey: "sync.run"] = "\(context.run.id)"
        logger[metadataKey: "sync.org"] = "\(context.run.orgID)"
        let run = try await context.journal.markRunning(id: context.run.id, fence: context.fence)
        let workflowID = Self.workflowID(run: run.id)
        var orchestrator = Orchestrator(graph: context.graph, maximumConcurrentEntities: context.maximumConcurrentEntities)
        let events = try await context.journal.steps(of: workflowID, as: Orchestrator.Event.self)
        for event in events { orchestrator.apply(event) }
        var nextStep = events.count
        let journal = context.journal
        let fence = context.fence

        func record(_ event: Orchestrator.Event) async throws {
            try await journal.commit(workflowID: workflowID, step: nextStep, kind: "orchestrator", runID: run.id, fence: fence, record: event)
            nextStep += 1
            orchestrator.apply(event)
        }

        return try await withThrowingTaskGroup(of: (String, Result<EntityRunOutcome, any Error>).self) { group in
            let runEntity = context.runEntity
            // The task of one entity's workflow. `group.addTask` is called here in the closure's own
            // body, never from a nested function: a nested function capturing the inout `group`
            // was miscompiled in release builds (Swift 6.3.1): its tasks went to a group `next()`
            // did not see, and the node crashed.
            let entityTask: @Sendable (String) -> @Sendable () async -> (String, Result<EntityRunOutcome, any Error>) = { entity in
                return {
                    do {
                        let outcome = try await runEntity(run, entity)
                        return (entity, Result<EntityRunOutcome, any Error>.success(outcome))
                    } catch {
                        return (entity, Result<EntityRunOutcome, any Error>.failure(error))
                    }
                }
            }
            // Entities dispatched before a crash or failover resume from their own journals.
            for entity in orchestrator.dispatchedEntities { group.addTask(operation: entityTask(entity)) }
            while true {
                for action in orchestrator.decide() {
                    switch action {
                    case .dispatch(let entity):
                        try await record(.dispatched(entity: entity))
                        logger.info("dispatched", metadata: ["sync.entity": "\(entity)"])
                        group.addTask(operation: entityTask(entity))
                    case .completeRun:
                        try await journal.finishRun(id: run.id, state: .completed, reason: nil, fence: fence)
                        NodeMetrics.runFinished(state: "completed")
                        logger.info("run completed")
                        return .completed
                    case .failRun(let reason):
                        try await journal.finishRun(id: run.id, state: .failed, reason: reason, fence: fence)
                        NodeMetrics.runFinished(state: "failed")
                        logger.error("run failed", metadata: ["sync.reason": "\(reason)"])
                        return .failed
                    }
                }
                guard let (entity, result) = try await group.next() else {
                    // A bug, but not worth the node: the run stops and a later scheduling pass
                    // resumes it from the journal (dispatched entities are started again).
                    throw Stalled(runID: run.id, states: "\(orchestrator.states)")
                }
                switch result {
                case .success(.completed):
                    try await record(.entityCompleted(entity: entity))
                case .success(.failed(let reason)):
                    try await record(.entityFailed(entity: entity, reason: reason))
                case .failure(let error as EntitySyncRunner.Interrupted):
                    // Draining: let the other workflows finish their page in flight, then stop; the
                    // run resumes from the journal on the next start.
                    while try await group.next() != nil {}
                    throw error
                case .failure(let error):
                    // Lost ownership or a broken journal: stop writing at once.
                    group.cancelAll()
                    throw error
                }
            }
        }
    }
}
