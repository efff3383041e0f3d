import Foundation
import Logging
import PostgresNIO
import SyncCore
import SyncPostgres

/// Journal step latency and throughput with fsync on: `JournalStore.commit` steps that each do one
/// small INSERT under a shard fence, next to the durability floor (one single-row INSERT per
/// transaction: our own loop and pgbench) and to DBOS Transact doing the same steps, all against the
/// same server in the same run.
public struct JournalBenchmark: Sendable {
    public struct Configuration: Sendable {
        /// Runs of each side; the table shows medians.
        public var runs: Int = 5
        /// Timed steps of the serial workflow (p50 and p99 are taken over them).
        public var serialSteps: Int = 500
        public var workflows: Int = 16
        public var stepsPerWorkflow: Int = 100
        /// nil: pgbench not installed.
        public var pgbench: PgbenchPeer?
        /// nil: the DBOS peer was not configured.
        public var dbos: DBOSPeer?

        public init() {}
    }

    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The JSON the journal row carries: a page step as the entity workflow records it, with the
    /// 100 ids of the page in its cursor (the size of a real one).
    static let pageRecord: EntityStep = .page(PageStepRecord(
        request: EntitySyncCursor(offset: 9_900), next: EntitySyncCursor(offset: 9_999, previousPageIDs: (9_900..<10_000).map { String(100_000 + $0) }),
        fetched: 100, rowsWritten: 340, counters: RequestCounters(requests: 1), totalCount: 100_000
    ))

    public func run(database: BenchmarkDatabase, machine: MachineDescription) async throws -> BenchmarkTable {
        let configuration = configuration
        let logger = logger
        let dbosVersion: Result<String, PeerUnavailable>? = await configuration.dbos?.probe()

        let (samples, groupCommit) = try await database.withFreshDatabase(purpose: "journal") { url in
            try await database.withFreshDatabase(purpose: "dbos_sys", migrated: false) { dbosSystem in
                try await database.withFreshDatabase(purpose: "dbos_app", migrated: false) { dbosApp in
                    try await BenchmarkDatabase.withClient(to: url, connections: configuration.workflows + 4, logger: logger) { client in
                        try await Self.measure(configuration: configuration, dbosUsable: (try? dbosVersion?.get()) != nil,
                                               url: url, client: client, dbosSystem: dbosSystem, dbosApp: dbosApp, logger: logger)
                    }
                }
            }
        }
        return table(samples: samples, groupCommit: groupCommit, dbosVersion: dbosVersion, machine: machine)
    }

    private static func measure(
        configuration: Configuration, dbosUsable: Bool, url: PostgresURL, client: PostgresClient,
        dbosSystem: PostgresURL, dbosApp: PostgresURL, logger: Logger
    ) async throws -> ([String: [Result<StepFigures, PeerUnavailable>]], GroupCommitStatistics) {
        // What a step needs: an org and a run (foreign keys of the journal), an owned shard fence,
        // the effect table, and the floor's tables.
        try await client.query("""
            INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('bench', 'bench', 'pco', 'http://127.0.0.1:1')
            """, logger: logger)
        let journal = JournalStore(client: client, logger: logger)
        guard case .created(let run) = try await journal.createRun(orgID: "bench", strategy: .full) else {
            preconditionFailure("a fresh database already had an active run")
        }
        let epoch = try await FenceStore(client: client, logger: logger).acquireShard(0, owner: "bench")
        let fence = WriteFence.shard(0, epoch: epoch)
        try await client.query("""
            CREATE TABLE bench_effects (workflow_id text NOT NULL, step integer NOT NULL, payload text NOT NULL,
                                        PRIMARY KEY (workflow_id, step))
            """, logger: logger)
        try await client.query("""
            CREATE TABLE bench_floor (workflow_id text NOT NULL, step integer NOT NULL, payload text NOT NULL,
                                      PRIMARY KEY (workflow_id, step))
            """, logger: logger)
        try await client.query(PostgresQuery(unsafeSQL: PgbenchPeer.tableSQL), logger: logger)

        let load = StepLoad(serialSteps: configuration.serialSteps, workflows: configuration.workflows,
                            stepsPerWorkflow: configuration.stepsPerWorkflow)
        let record = pageRecord
        // The step as the engine commits a one-statement effect: effect and journal row in one statement.
        let ours: StepLoad.Step = { workflowID, number in
            try await journal.commit(
                workflowID: workflowID, step: number, kind: record.kind, runID: run.id, fence: fence,
                statement: "INSERT INTO bench_effects (workflow_id, step, payload) VALUES (\(workflowID), \(number), 'effect')",
                conflictKey: "bench_effects/\(workflowID)/\(number)", record: record
            )
        }
        // The same step through a transaction with an effect closure (how a page commits its rows).
        let oursTransaction: StepLoad.Step = { workflowID, number in
            try await journal.commit(
                workflowID: workflowID, step: number, kind: record.kind, runID: run.id, fence: fence,
                effect: { connection -> Void in
                    try await connection.queryUnlessClosed("""
                        INSERT INTO bench_effects (workflow_id, step, payload) VALUES (\(workflowID), \(number), 'effect')
                        """, logger: logger)
                },
                record: { _ in record }
            )
        }
        let floor: StepLoad.Step = { workflowID, number in
            try await client.query("""
                INSERT INTO bench_floor (workflow_id, step, payload) VALUES (\(workflowID), \(number), 'effect')
                """, logger: logger)
        }

        typealias Sample = Result<StepFigures, PeerUnavailable>
        var sides: [AlternatingRuns<Sample>.Side] = [
            .init(name: "ours") { .success(try await load.measure(label: "ours", ours)) },
            .init(name: "ours-transaction") { .success(try await load.measure(label: "ours-transaction", oursTransaction)) },
            .init(name: "floor") { .success(try await load.measure(label: "floor", floor)) },
        ]
        if let pgbench = configuration.pgbench {
            sides.append(.init(name: "pgbench") {
                do {
                    return .success(try await pgbench.measure(
                        database: url, serialTransactions: configuration.serialSteps, clients: configuration.workflows,
                        transactionsPerClient: configuration.stepsPerWorkflow))
                } catch let error as PeerUnavailable { return .failure(error) }
            })
        }
        if let dbos = configuration.dbos, dbosUsable {
            sides.append(.init(name: "dbos") {
                do { return .success(try await dbos.measure(systemDatabase: dbosSystem, appDatabase: dbosApp)) }
                catch let error as PeerUnavailable { return .failure(error) }
            })
        }
        let samples = try await AlternatingRuns(runs: configuration.runs).measure(sides) { progress in
            logger.info("journal benchmark", metadata: ["sync.bench": "\(progress)"])
        }
        return (samples, journal.groupCommitStatistics)
    }

    private func table(
        samples: [String: [Result<StepFigures, PeerUnavailable>]], groupCommit: GroupCommitStatistics,
        dbosVersion: Result<String, PeerUnavailable>?,
        machine: MachineDescription
    ) -> BenchmarkTable {
        func figures(_ side: String) -> Result<StepFigures, PeerUnavailable>? {
            guard let runs = samples[side] else { return nil }
            var measured: [StepFigures] = []
            for run in runs {
                switch run {
                case .success(let figures): measured.append(figures)
                case .failure(let error): return .failure(error)
                }
            }
            return StepFigures.median(of: measured).map { .success($0) }
        }
        let c = configuration
        var table = BenchmarkTable(title: "journal: fenced step commit (JournalStore.commit, one INSERT effect per step)", machine: machine)
        guard case .success(let ours)? = figures("ours"), case .success(let floor)? = figures("floor") else {
            table.notes.append("no figures: the benchmark produced no runs")
            return table
        }
        let pgbench = figures("pgbench")
        let dbos: Result<StepFigures, PeerUnavailable>? = switch dbosVersion {
        case .failure(let error): .failure(error)
        case .success: figures("dbos")
        case nil: .failure(PeerUnavailable(peer: "DBOS", reason: "skipped (--dbos-python none)"))
        }

        if case .success(let transaction)? = figures("ours-transaction") {
            table.rows.append(.init(metric: "transaction step: serial p50", ours: Figure.milliseconds(transaction.serialP50Milliseconds),
                                    peer: "one-statement step: \(Figure.milliseconds(ours.serialP50Milliseconds))",
                                    comparison: "\(Figure.ratio(transaction.serialP50Milliseconds / ours.serialP50Milliseconds))× one-statement"))
            table.rows.append(.init(metric: "transaction step: \(c.workflows) concurrent", ours: Figure.perSecond(transaction.concurrentStepsPerSecond, unit: "steps"),
                                    peer: "one-statement step: \(Figure.perSecond(ours.concurrentStepsPerSecond, unit: "steps"))",
                                    comparison: "\(Figure.ratio(transaction.concurrentStepsPerSecond / ours.concurrentStepsPerSecond)) of one-statement"))
        }
        table.rows.append(.init(metric: "serial step p50", ours: Figure.milliseconds(ours.serialP50Milliseconds), goal: "≤ 3 ms",
                                peer: "floor (1 INSERT/txn, our loop): \(Figure.milliseconds(floor.serialP50Milliseconds))",
                                comparison: "\(Figure.ratio(ours.serialP50Milliseconds / floor.serialP50Milliseconds))× floor",
                                verdict: Figure.verdict(ours.serialP50Milliseconds <= 3)))
        table.rows.append(.init(metric: "serial step p99", ours: Figure.milliseconds(ours.serialP99Milliseconds),
                                peer: "floor: \(Figure.milliseconds(floor.serialP99Milliseconds))",
                                comparison: "\(Figure.ratio(ours.serialP99Milliseconds / floor.serialP99Milliseconds))× floor"))
        table.rows.append(.init(metric: "\(c.workflows) concurrent workflows", ours: Figure.perSecond(ours.concurrentStepsPerSecond, unit: "steps"),
                                goal: "≥ 3,000 steps/s",
                                peer: "floor: \(Figure.perSecond(floor.concurrentStepsPerSecond, unit: "txn"))",
                                comparison: "\(Figure.ratio(ours.concurrentStepsPerSecond / floor.concurrentStepsPerSecond)) of floor",
                                verdict: Figure.verdict(ours.concurrentStepsPerSecond >= 3_000)))
        switch pgbench {
        case .success(let pg)?:
            table.rows.append(.init(metric: "serial step vs pgbench", ours: Figure.milliseconds(ours.serialP50Milliseconds),
                                    peer: "pgbench 1 client, mean: \(Figure.milliseconds(pg.serialP50Milliseconds))",
                                    comparison: "\(Figure.ratio(ours.serialP50Milliseconds / pg.serialP50Milliseconds))× pgbench"))
            table.rows.append(.init(metric: "\(c.workflows) concurrent vs pgbench", ours: Figure.perSecond(ours.concurrentStepsPerSecond, unit: "steps"),
                                    peer: "pgbench \(c.workflows) clients: \(Figure.perSecond(pg.concurrentStepsPerSecond, unit: "txn"))",
                                    comparison: "\(Figure.ratio(ours.concurrentStepsPerSecond / pg.concurrentStepsPerSecond)) of pgbench"))
        case .failure(let error)?:
            table.rows.append(.init(metric: "pgbench floor", ours: "", peer: error.description, verdict: "n/a"))
        case nil:
            table.rows.append(.init(metric: "pgbench floor", ours: "", peer: "pgbench not found", verdict: "n/a"))
        }
        switch dbos {
        case .success(let peer)?:
            let latencyGain = peer.serialP50Milliseconds / ours.serialP50Milliseconds
            let throughputGain = ours.concurrentStepsPerSecond / peer.concurrentStepsPerSecond
            table.rows.append(.init(metric: "serial step p50 vs DBOS", ours: Figure.milliseconds(ours.serialP50Milliseconds),
                                    goal: "≥ 1.5× DBOS", peer: "DBOS \((try? dbosVersion?.get()) ?? ""): \(Figure.milliseconds(peer.serialP50Milliseconds))",
                                    comparison: "\(Figure.ratio(latencyGain))× faster", verdict: Figure.verdict(latencyGain >= 1.5)))
            table.rows.append(.init(metric: "\(c.workflows) concurrent vs DBOS", ours: Figure.perSecond(ours.concurrentStepsPerSecond, unit: "steps"),
                                    goal: "≥ 1.5× DBOS", peer: "DBOS: \(Figure.perSecond(peer.concurrentStepsPerSecond, unit: "steps"))",
                                    comparison: "\(Figure.ratio(throughputGain))× DBOS", verdict: Figure.verdict(throughputGain >= 1.5)))
        case .failure(let error)?:
            table.rows.append(.init(metric: "DBOS Transact peer", ours: "", goal: "≥ 1.5× DBOS", peer: error.description, verdict: "n/a"))
        case nil:
            table.rows.append(.init(metric: "DBOS Transact peer", ours: "", goal: "≥ 1.5× DBOS", peer: "no runs", verdict: "n/a"))
        }

        table.notes = [
            "medians of \(c.runs) runs per side; sides alternate (run i starts with side i mod sides), every side on the same server and fsync setting",
            "ours: JournalStore.commit(statement:conflictKey:): effect and journal row in one statement, WITH effect AS (INSERT effect) INSERT INTO workflow_steps (a \(Self.pageRecord.kind) record with a 100-id cursor, jsonb; the fence held FOR SHARE by sync_hold_shard_fence, which raises when the epoch moved on); steps of several workflows that wait for a slot share one such statement and one transaction (group commit); a step returns when its batch is durable",
            "transaction step: JournalStore.commit(effect:), for effects of several round trips (reconciliation): BEGIN; INSERT effect; INSERT workflow_steps (the fence held by sync_hold_shard_fence); COMMIT. Page steps commit as one-statement steps (their links, rows and edges are one statement)",
            "serial: \(c.serialSteps) timed steps after 20 warm-up steps (and 2 from each concurrent workflow, to open the pool); concurrent: \(c.workflows) workflows × \(c.stepsPerWorkflow) steps on a pool of \(c.workflows + 4) connections",
            "floor: a single-row INSERT in its own transaction (autocommit), same client library, same load shape",
            groupCommitNote(groupCommit),
        ]
        if let dbos = c.dbos {
            let d = dbos.configuration
            table.notes.append("DBOS: cluster/bench/dbos_steps.py, @ds.transaction(isolation_level=\(d.isolationLevel)) steps of one INSERT; serial \(d.serialSteps) steps, concurrent \(d.workflows) workflows × \(d.stepsPerWorkflow) steps (DBOS is ≈100× slower per step, so fewer)")
        }
        return table
    }

    /// How the one-statement steps were grouped: serial steps (warm-up and timed) each went alone,
    /// as nothing else was in flight, so the rest are the concurrent phases' batches.
    private func groupCommitNote(_ statistics: GroupCommitStatistics) -> String {
        let c = configuration
        let serial = c.runs * (StepLoad.defaultWarmupSteps + c.serialSteps)
        let concurrentCommits = statistics.commits - serial
        let concurrentBatches = statistics.batches - serial
        let mean = concurrentBatches > 0 ? Double(concurrentCommits) / Double(concurrentBatches) : .nan
        return "group commit (JournalStore, 2 slots, up to 32 a batch): \(statistics.commits) one-statement steps in \(statistics.batches) statements; "
            + "at \(c.workflows) workflows \(Figure.ratio(mean)) steps a statement on average (serial steps each alone); "
            + "\(statistics.refusedBatches) batches refused"
    }
}
