import Foundation
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres
import SyncTestSupport
import Testing
@testable import SyncNode

/// The status endpoint's fold cache against a real journal: each call reads only the new steps, and
/// what it returns is always the replay of the whole journal.
@Suite("Workflow folds for run status")
struct WorkflowFoldsTests {
    /// Commits steps of one Person workflow as the entity workflow would (a plan, then pages).
    struct JournalWriter {
        var journal: JournalStore
        var runID: UUID
        var fence: WriteFence
        var workflowID: String
        var workflow = EntityWorkflow()

        mutating func commit(steps: Int) async throws {
            guard let person = PCOManifest.manifest.entity(named: "Person") else { Issue.record("no Person"); return }
            for _ in 0..<steps {
                let step: EntityStep
                if workflow.plan == nil {
                    step = .planned(EntitySyncPlan.make(entity: person, strategy: .full, watermark: nil,
                                                        runStartedAt: UTCTimestamp(secondsSinceEpoch: 1_767_225_600),
                                                        overlapSeconds: 300, parentIDs: nil))
                } else {
                    guard case .fetch(let request) = workflow.nextAction else { Issue.record("expected a fetch"); return }
                    let ids = (request.offset..<request.offset + 100).map { String(1_000 + $0) }
                    let summary = PageSummary(ids: ids, updatedAts: ids.map { _ in nil }, hasNext: true, totalCount: 100_000)
                    guard case .commit(var record) = workflow.pageFetched(summary, counters: RequestCounters(requests: 1)) else {
                        Issue.record("expected a commit"); return
                    }
                    record.rowsWritten = 100
                    step = .page(record)
                }
                try await journal.commit(workflowID: workflowID, step: workflow.nextStep, kind: step.kind, runID: runID,
                                         fence: fence, record: step)
                workflow.apply(step)
            }
        }
    }

    static func withJournal(_ body: @Sendable (JournalStore, UUID, WriteFence) async throws -> Void) async throws {
        try await TemporaryDatabase.withMigrated(prefix: "folds") { database in
            let client = PostgresClient(configuration: database.url.clientConfiguration, backgroundLogger: TestServices.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await client.query("INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('o1', 'O', 'pco', 'http://x')")
                let journal = JournalStore(client: client, logger: TestServices.logger)
                guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                    Issue.record("no run created"); return
                }
                let epoch = try await FenceStore(client: client, logger: TestServices.logger).acquireShard(0, owner: "test")
                try await body(journal, run.id, .shard(0, epoch: epoch))
            }
        }
    }

    @Test("a second call reads only the steps committed since the first, and equals the full replay")
    func incremental() async throws {
        try await Self.withJournal { journal, runID, fence in
            var writer = JournalWriter(journal: journal, runID: runID, fence: fence, workflowID: "w")
            let folds = WorkflowFolds()
            try await writer.commit(steps: 30)
            #expect(try await folds.fold(of: "w", journal: journal).workflow == writer.workflow)
            #expect(folds.stepsRead == 30)
            try await writer.commit(steps: 5)
            let fold = try await folds.fold(of: "w", journal: journal)
            #expect(fold.workflow == writer.workflow)
            #expect(fold.workflow == EntityWorkflow.replay(try await journal.steps(of: "w", as: EntityStep.self)))
            #expect(folds.stepsRead == 35, "only the 5 new steps were read")
            #expect(try await folds.fold(of: "w", journal: journal).workflow.pages == 34)
            #expect(folds.stepsRead == 35)
        }
    }

    @Test("beyond its capacity the least recently used workflow is dropped and folded again from step 0")
    func eviction() async throws {
        try await Self.withJournal { journal, runID, fence in
            for name in ["a", "b", "c"] {
                var writer = JournalWriter(journal: journal, runID: runID, fence: fence, workflowID: name)
                try await writer.commit(steps: 4)
            }
            let folds = WorkflowFolds(capacity: 2)
            _ = try await folds.fold(of: "a", journal: journal)
            _ = try await folds.fold(of: "b", journal: journal)
            _ = try await folds.fold(of: "a", journal: journal)
            #expect(folds.stepsRead == 8)
            _ = try await folds.fold(of: "c", journal: journal)  // evicts b, the least recently used
            _ = try await folds.fold(of: "a", journal: journal)
            #expect(folds.stepsRead == 12, "a was kept")
            let b = try await folds.fold(of: "b", journal: journal)
            #expect(folds.stepsRead == 16, "b was folded again from step 0")
            #expect(b.workflow.nextStep == 4)
        }
    }

    @Test("a workflow with no steps yet folds to the initial state, and later calls pick its steps up")
    func notStarted() async throws {
        try await Self.withJournal { journal, runID, fence in
            let folds = WorkflowFolds()
            #expect(try await folds.fold(of: "w", journal: journal).workflow == EntityWorkflow())
            var writer = JournalWriter(journal: journal, runID: runID, fence: fence, workflowID: "w")
            try await writer.commit(steps: 3)
            #expect(try await folds.fold(of: "w", journal: journal).workflow == writer.workflow)
        }
    }
}
