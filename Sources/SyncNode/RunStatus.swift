import Foundation
import SyncCore
import SyncPostgres

/// A run and the progress of each of its entities: the body of `GET /v1/runs/{id}`.
public struct RunStatus: Sendable, Hashable, Codable {
    public var id: UUID
    public var org: String
    public var strategy: SyncStrategy
    public var state: RunState
    public var failureReason: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Entities in dependency order (level by level).
    public var entities: [EntityProgress]

    enum CodingKeys: String, CodingKey {
        case id, org, strategy, state, failureReason = "failure_reason", createdAt = "created_at",
             startedAt = "started_at", finishedAt = "finished_at", entities
    }

    /// Built from the journal alone, so any node can answer for any run. `folds` keeps each entity
    /// workflow's fold between calls, so a call reads only the steps committed since the last.
    public static func load(run: RunRecord, graph: DependencyGraph, journal: JournalStore, folds: WorkflowFolds) async throws -> RunStatus {
        let events = try await journal.steps(of: RunCoordinator.workflowID(run: run.id), as: Orchestrator.Event.self)
        var orchestrator = Orchestrator(graph: graph)
        for event in events { orchestrator.apply(event) }
        var entities: [EntityProgress] = []
        for entity in graph.levels.flatMap({ $0 }) {
            let workflowID = EntitySyncRunner.workflowID(run: run.id, entity: entity)
            let fold = try await folds.fold(of: workflowID, journal: journal)
            var workflow = fold.workflow
            // Partitions still paging report through their own journals until the parent adds them up.
            if let plan = workflow.plan, plan.partitions > 1, !fold.partitionsCompleted {
                var totals = PartitionSummary(partitions: plan.partitions, pages: 0, fetched: 0, rowsWritten: 0, counters: RequestCounters())
                for index in 0..<plan.partitions {
                    let part = try await folds.fold(of: "\(workflowID)#\(index)", journal: journal).workflow
                    totals.pages += part.pages
                    totals.fetched += part.fetched
                    totals.rowsWritten += part.rowsWritten
                    totals.counters = totals.counters + part.counters
                }
                workflow.apply(.partitionsCompleted(totals))
            }
            let state: EntityProgress.State
            switch (workflow.status, orchestrator.states[entity]) {
            case (.completed, _): state = .completed
            case (.failed, _): state = .failed
            case (.running, _): state = .running
            case (.notStarted, .dispatched?): state = .running
            case (.notStarted, _) where run.state.isTerminal: state = .skipped
            case (.notStarted, _): state = .waiting
            }
            entities.append(EntityProgress(entity: entity, state: state, workflow: workflow))
        }
        return RunStatus(id: run.id, org: run.orgID, strategy: run.strategy, state: run.state, failureReason: run.failureReason,
                         createdAt: run.createdAt, startedAt: run.startedAt, finishedAt: run.finishedAt, entities: entities)
    }
}
