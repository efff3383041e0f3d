import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// Resume cost of an entity workflow: reading a 1,000-step journal from Postgres
/// (`JournalStore.steps`, JSON decode included) and folding it with `EntityWorkflow.replay`, and the
/// fold alone. The peer is the bare read of the same rows (`SELECT step, result::text`, no decode).
public struct ReplayBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var runs: Int = 5
        /// Steps in the journal: the plan and then pages.
        public var steps: Int = 1_000

        public init() {}
    }

    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    struct Sample: Sendable {
        var total: Duration
        var fold: Duration
    }

    public func run(database: BenchmarkDatabase, machine: MachineDescription) async throws -> BenchmarkTable {
        let configuration = configuration
        let logger = logger
        let samples = try await database.withFreshDatabase(purpose: "replay") { url in
            try await BenchmarkDatabase.withClient(to: url, connections: 2, logger: logger) { client in
                let journal = JournalStore(client: client, logger: logger)
                let (workflowID, written) = try await Self.writeJournal(steps: configuration.steps, journal: journal, client: client, logger: logger)
                let clock = ContinuousClock()
                let ours = AlternatingRuns<Sample>.Side(name: "ours") {
                    let started = clock.now
                    let steps = try await journal.steps(of: workflowID, as: EntityStep.self)
                    let folding = clock.now
                    let replayed = EntityWorkflow.replay(steps)
                    let finished = clock.now
                    precondition(replayed == written, "replay of \(steps.count) steps differs from the workflow that wrote them")
                    return Sample(total: finished - started, fold: finished - folding)
                }
                let bareRead = AlternatingRuns<Sample>.Side(name: "bare read") {
                    let started = clock.now
                    var count = 0
                    let rows = try await client.query("""
                        SELECT step, result::text FROM workflow_steps WHERE workflow_id = \(workflowID) ORDER BY step
                        """, logger: logger)
                    for try await _ in rows.decode((Int, String).self) { count += 1 }
                    precondition(count == configuration.steps, "read \(count) of \(configuration.steps) steps")
                    return Sample(total: clock.now - started, fold: .zero)
                }
                return try await AlternatingRuns(runs: configuration.runs, warmUp: true).measure([ours, bareRead])
            }
        }
        return table(ours: samples["ours"] ?? [], bareRead: samples["bare read"] ?? [], machine: machine)
    }

    /// Journals `steps` steps the way the entity sync runner does — `.planned`, then pages judged by
    /// the workflow itself — and returns the workflow id and the state after them.
    private static func writeJournal(
        steps: Int, journal: JournalStore, client: PostgresClient, logger: Logger
    ) async throws -> (String, EntityWorkflow) {
        try await client.query("""
            INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('bench', 'bench', 'pco', 'http://127.0.0.1:1')
            """, logger: logger)
        guard case .created(let run) = try await journal.createRun(orgID: "bench", strategy: .full) else {
            preconditionFailure("a fresh database already had an active run")
        }
        let epoch = try await FenceStore(client: client, logger: logger).acquireShard(0, owner: "bench")
        let fence = WriteFence.shard(0, epoch: epoch)
        guard let person = PCOManifest.manifest.entity(named: "Person") else { preconditionFailure("the PCO manifest has no Person") }
        let workflowID = "run/\(run.id.uuidString.lowercased())/Person"
        let startedAt = UTCTimestamp(secondsSinceEpoch: 1_767_225_600)
        let perPage = person.endpoint.perPage
        let totalCount = steps * perPage

        var workflow = EntityWorkflow()
        let plan = EntitySyncPlan.make(entity: person, strategy: .full, watermark: nil, runStartedAt: startedAt,
                                       overlapSeconds: 300, parentIDs: nil)
        try await commit(.planned(plan), number: 0, workflowID: workflowID, runID: run.id, fence: fence, journal: journal)
        workflow.apply(.planned(plan))
        while workflow.nextStep < steps {
            guard case .fetch(let request) = workflow.nextAction else { preconditionFailure("expected a fetch: \(workflow)") }
            let ids = (request.offset..<request.offset + perPage).map { String(10_000_000 + $0) }
            let updated = ids.indices.map { UTCTimestamp(secondsSinceEpoch: startedAt.secondsSinceEpoch - 86_400 + Int64($0)) }
            let summary = PageSummary(ids: ids, updatedAts: updated, hasNext: true, totalCount: totalCount)
            guard case .commit(var record) = workflow.pageFetched(summary, counters: RequestCounters(requests: 1)) else {
                preconditionFailure("overlapping pages were refetched: \(workflow)")
            }
            record.rowsWritten = perPage * 3
            try await commit(.page(record), number: workflow.nextStep, workflowID: workflowID, runID: run.id, fence: fence, journal: journal)
            workflow.apply(.page(record))
        }
        return (workflowID, workflow)
    }

    private static func commit(
        _ step: EntityStep, number: Int, workflowID: String, runID: UUID, fence: WriteFence, journal: JournalStore
    ) async throws {
        try await journal.commit(workflowID: workflowID, step: number, kind: step.kind, runID: runID, fence: fence,
                                 effect: { _ in () }, record: { _ in step })
    }

    private func table(ours: [Sample], bareRead: [Sample], machine: MachineDescription) -> BenchmarkTable {
        var table = BenchmarkTable(title: "replay: \(Figure.format(Double(configuration.steps)))-step entity journal (JournalStore.steps + EntityWorkflow.replay)", machine: machine)
        guard let total = Statistics.median(ours.map(\.total.milliseconds)),
              let fold = Statistics.median(ours.map(\.fold.milliseconds)),
              let read = Statistics.median(bareRead.map(\.total.milliseconds))
        else {
            table.notes.append("no figures: the benchmark produced no runs")
            return table
        }
        table.rows.append(.init(metric: "read + decode + fold", ours: Figure.milliseconds(total), goal: "≤ 100 ms",
                                peer: "bare SELECT of the rows: \(Figure.milliseconds(read))",
                                comparison: "\(Figure.ratio(total / read))× bare read", verdict: Figure.verdict(total <= 100)))
        table.rows.append(.init(metric: "fold alone", ours: Figure.milliseconds(fold),
                                comparison: "\(Figure.format(fold / total * 100, decimals: 1))% of the total"))
        table.notes = [
            "medians of \(configuration.runs) runs, ours and the bare read alternating after one untimed run of each",
            "journal: step 0 .planned (full strategy, Person), then \(configuration.steps - 1) .page steps as EntityWorkflow.pageFetched produced them (the last \(EntityWorkflow.overlapIDsKept) ids of each page in its cursor), written with JournalStore.commit",
            "each run checks that the replayed workflow equals the one that wrote the journal",
        ]
        return table
    }
}
