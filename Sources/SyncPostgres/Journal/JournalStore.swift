import Foundation
import Logging
import PostgresNIO
import SyncCore

/// Sync runs and workflow steps in Postgres.
///
/// Every step that has an effect commits the effect and its journal row in ONE transaction, after
/// checking its fence (shard epoch or leader term) in that same transaction. Step ids are
/// deterministic (workflow id, step number), so a retried step collides with its own row instead of
/// writing twice, and an outcome-unknown commit is resolved by looking the row up.
public struct JournalStore: Sendable {
    public let client: PostgresClient
    public var logger: Logger
    private let committer: GroupCommitter

    /// `groupCommitSlots`: batches of one-statement commits written at once (see ``GroupCommitQueue``);
    /// `groupCommitBatch`: the most commits one batch carries.
    public init(client: PostgresClient, logger: Logger, groupCommitSlots: Int = 2, groupCommitBatch: Int = 32) {
        self.client = client
        self.logger = logger
        self.committer = GroupCommitter(client: client, logger: logger, maximumInFlight: groupCommitSlots, maximumBatch: groupCommitBatch)
    }

    /// A transaction whose closure errors come out as thrown, so callers can tell `ownershipLost`
    /// from a failed BEGIN or COMMIT; a COMMIT's own failure goes through `commitFailed` (whose
    /// outcome is unknown). Not PostgresNIO's `withTransaction`: its statements would wait forever on
    /// a connection Postgres closed (see ``PostgresNIO/PostgresConnection/queryUnlessClosed(_:logger:checkEvery:file:line:)``).
    func transaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> sending Result,
        commitFailed: (any Error) -> any Error = { $0 }
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.queryUnlessClosed("BEGIN", logger: logger)
            let result: Result
            do {
                result = try await body(connection)
            } catch {
                _ = try? await connection.queryUnlessClosed("ROLLBACK", logger: logger)
                throw error
            }
            do {
                try await connection.queryUnlessClosed("COMMIT", logger: logger)
            } catch {
                throw commitFailed(error)
            }
            return result
        }
    }

    // MARK: - Runs

    public enum RunCreation: Sendable, Hashable {
        case created(RunRecord)
        /// The org already has a pending or running run; a second one is not started.
        case alreadyActive(RunRecord)
    }

    /// Starts a run for an org, unless one is already active. With a `requestKey`, repeating the same
    /// request returns the run the first one created.
    public func createRun(orgID: String, strategy: SyncStrategy, requestKey: String? = nil) async throws -> RunCreation {
        try await transaction { connection in
            // Serialise run creation per org, so two requests cannot both see "no active run".
            guard try await connection.queryUnlessClosed("SELECT 1 FROM organizations WHERE id = \(orgID) FOR UPDATE", logger: logger)
                .decode(Int.self).first(where: { _ in true }) != nil
            else {
                throw JournalError(code: .invalidState, workflowID: "org/\(orgID)", detail: "unknown organization '\(orgID)'")
            }
            if let requestKey, let existing = try await Self.runs(
                where: "request_key = $1", binds: postgresBindings(requestKey), on: connection, logger: logger
            ).first {
                return .alreadyActive(existing)
            }
            if let active = try await Self.runs(
                where: "org_id = $1 AND state IN ('pending', 'running')", binds: postgresBindings(orgID), on: connection, logger: logger
            ).first {
                return .alreadyActive(active)
            }
            let id = UUID()
            try await connection.queryUnlessClosed("""
                INSERT INTO sync_runs (id, org_id, strategy, request_key)
                VALUES (\(id), \(orgID), \(strategy.rawValue)::sync_strategy, \(requestKey))
                """, logger: logger)
            let created = try await Self.runs(where: "id = $1", binds: postgresBindings(id), on: connection, logger: logger)
            return .created(created[0])
        }
    }

    public func run(id: UUID) async throws -> RunRecord? {
        try await client.withConnection { connection in
            try await Self.runs(where: "id = $1", binds: postgresBindings(id), on: connection, logger: logger).first
        }
    }

    /// Runs that are pending or running, oldest first: what a (new) leader must carry on.
    public func activeRuns() async throws -> [RunRecord] {
        try await client.withConnection { connection in
            try await Self.runs(where: "state IN ('pending', 'running')", binds: PostgresBindings(), on: connection, logger: logger)
        }
    }

    public func recentRuns(limit: Int = 20) async throws -> [RunRecord] {
        try await client.withConnection { connection in
            try await Self.runs(where: "true ORDER BY created_at DESC LIMIT \(limit)", binds: PostgresBindings(), on: connection, logger: logger)
        }
    }

    /// pending -> running, stamping `started_at` (database time: the cutoff for reconciliation).
    public func markRunning(id: UUID, fence: WriteFence) async throws -> RunRecord {
        try await transaction { connection in
            try await FenceStore.check(fence, on: connection, workflowID: "run/\(id)", step: nil, logger: logger)
            try await connection.queryUnlessClosed("""
                UPDATE sync_runs SET state = 'running', started_at = coalesce(started_at, now()),
                       leader_term = \(Self.term(of: fence))
                WHERE id = \(id) AND state IN ('pending', 'running')
                """, logger: logger)
            guard let run = try await Self.runs(where: "id = $1", binds: postgresBindings(id), on: connection, logger: logger).first else {
                throw JournalError(code: .invalidState, workflowID: "run/\(id)", detail: "no such run")
            }
            return run
        }
    }

    /// running -> completed | failed (with the reason).
    public func finishRun(id: UUID, state: RunState, reason: String?, fence: WriteFence) async throws {
        precondition(state.isTerminal, "finishRun with non-terminal state \(state)")
        try await transaction { connection in
            try await FenceStore.check(fence, on: connection, workflowID: "run/\(id)", step: nil, logger: logger)
            try await connection.queryUnlessClosed("""
                UPDATE sync_runs SET state = \(state.rawValue)::run_state, failure_reason = \(state == .failed ? (reason ?? "unknown") : nil),
                       finished_at = now()
                WHERE id = \(id) AND state IN ('pending', 'running')
                """, logger: logger)
        }
    }

    private static func term(of fence: WriteFence) -> Int64? {
        if case .leader(let term) = fence { return term }
        return nil
    }

    static func runs(where condition: String, binds: PostgresBindings, on connection: PostgresConnection, logger: Logger) async throws -> [RunRecord] {
        let query = PostgresQuery(unsafeSQL: """
            SELECT id, org_id, strategy::text, state::text, failure_reason, created_at, started_at, finished_at
            FROM sync_runs WHERE \(condition)
            """, binds: binds)
        var runs: [RunRecord] = []
        let rows = try await connection.queryUnlessClosed(query, logger: logger)
        for try await (id, org, strategy, state, reason, created, started, finished)
            in rows.decode((UUID, String, String, String, String?, Date, Date?, Date?).self) {
            runs.append(RunRecord(id: id, orgID: org, strategy: SyncStrategy(rawValue: strategy)!, state: RunState(rawValue: state)!,
                                  failureReason: reason, createdAt: created, startedAt: started, finishedAt: finished))
        }
        return runs
    }

    // MARK: - Steps

    /// The steps of a workflow in order, decoded.
    public func steps<Step: Decodable>(of workflowID: String, as type: Step.Type) async throws -> [Step] {
        try await steps(of: workflowID, from: 0, as: type)
    }

    /// The steps of a workflow from step `first` on, decoded: for a fold that already holds the
    /// earlier ones (journal rows are never changed once committed).
    public func steps<Step: Decodable>(of workflowID: String, from first: Int, as type: Step.Type) async throws -> [Step] {
        let rows = try await client.queryUnlessClosed("""
            SELECT step, result::text FROM workflow_steps WHERE workflow_id = \(workflowID) AND step >= \(first) ORDER BY step
            """, logger: logger)
        var steps: [Step] = []
        let decoder = JSONDecoder()
        for (number, result) in try rows.decode((Int, String).self) {
            guard number == first + steps.count else {
                throw JournalError(code: .invalidState, workflowID: workflowID, step: number,
                                   detail: "journal has a gap before step \(number)")
            }
            steps.append(try decoder.decode(Step.self, from: Data(result.utf8)))
        }
        return steps
    }

    /// Whether a step is in the journal: how an outcome-unknown commit is resolved.
    public func stepExists(workflowID: String, step: Int) async throws -> Bool {
        try await client.queryUnlessClosed("""
            SELECT 1 FROM workflow_steps WHERE workflow_id = \(workflowID) AND step = \(step)
            """, logger: logger).decode(Int.self).first != nil
    }

    /// Commits `effect` and the journal row of `step` in one transaction under `fence`.
    ///
    /// The fence is checked by the journal row's own INSERT (``insertRows(_:appendingTo:)``),
    /// which locks the fence row FOR SHARE and raises when the epoch (or term) moved on: from then
    /// until COMMIT a takeover's bump waits for this transaction, and a bump that came first makes
    /// it roll back. Checking last rather than first saves a statement per step; a stale writer does
    /// its effect's work before it finds out, which only happens after a takeover.
    ///
    /// Errors are sorted: `ownershipLost` (fence moved), `alreadyCommitted` (the row exists: an earlier
    /// attempt won), `outcomeUnknown` (the connection failed at COMMIT), `notCommitted` (anything
    /// else; the transaction rolled back). Effects' own errors that are not Postgres errors propagate.
    @discardableResult
    public func commit<Step: Encodable & Sendable, Result: Sendable>(
        workflowID: String, step: Int, kind: String, runID: UUID, fence: WriteFence,
        effect: @Sendable (PostgresConnection) async throws -> Result,
        record: @Sendable (Result) -> Step
    ) async throws -> Result {
        do {
            return try await transaction({ connection in
                let result = try await effect(connection)
                let row = try JournalRow(workflowID: workflowID, step: step, runID: runID, kind: kind, record: record(result))
                try await insert(row, under: fence, on: connection)
                return result
            }, commitFailed: { Self.classify($0, workflowID: workflowID, step: step, duringCommit: true) })
        } catch {
            // Already sorted when COMMIT failed; anything before it rolled back.
            throw Self.classify(error, workflowID: workflowID, step: step, duringCommit: false)
        }
    }

    /// Commits the journal row of a step that has no effect of its own (an orchestrator decision, a
    /// plan, a failure): one statement, fenced like ``commit(workflowID:step:kind:runID:fence:effect:record:)``,
    /// written together with other workflows' one-statement commits when they coincide (group commit).
    public func commit<Step: Encodable & Sendable>(
        workflowID: String, step: Int, kind: String, runID: UUID, fence: WriteFence, record: Step
    ) async throws {
        let row = try JournalRow(workflowID: workflowID, step: step, runID: runID, kind: kind, record: record)
        try await committer.commit(.init(row: row, fence: fence, effect: nil, conflictKey: nil))
    }

    /// Commits a step whose effect is ONE data-modifying statement (`INSERT`, `UPDATE` or `DELETE`)
    /// together with its journal row, in one statement that is its own transaction:
    /// `WITH effect AS (statement) INSERT INTO workflow_steps …`. One round trip and one durable
    /// commit instead of four statements (BEGIN, effect, journal row, COMMIT), shared with other
    /// workflows' commits that coincide with it (group commit, ``GroupCommitQueue``).
    ///
    /// `conflictKey` names what the effect writes (say `entity_cursors/org/People`): commits with the
    /// same key never share a statement, where Postgres would apply only one of two updates of a row.
    ///
    /// The fence is held by `sync_hold_shard_fence` / `sync_hold_leader_term` (migration 0003),
    /// which lock the fence row FOR SHARE like the other commits and raise when the value moved on,
    /// so a stale writer's effect is rolled back with its journal row. `record` cannot depend on the
    /// effect's result (use ``commit(workflowID:step:kind:runID:fence:effect:record:)`` when it must).
    /// Errors are sorted as for the other commits; a statement whose answer never came may have
    /// committed (`outcomeUnknown`).
    public func commit<Step: Encodable & Sendable>(
        workflowID: String, step: Int, kind: String, runID: UUID, fence: WriteFence,
        statement: EffectStatement, conflictKey: String, record: Step
    ) async throws {
        let row = try JournalRow(workflowID: workflowID, step: step, runID: runID, kind: kind, record: record)
        try await committer.commit(.init(row: row, fence: fence, effect: statement, conflictKey: conflictKey))
    }

    /// Commits a page of canonical records (links, rows and edges, as ``CanonicalStore`` stores
    /// them) together with its journal row, like ``commit(workflowID:step:kind:runID:fence:statement:conflictKey:record:)``.
    /// Pages of other workflows that leave in the same group commit are merged with it into one
    /// page (``CanonicalBatch/merge(_:)``): one set of expressions per org, not one per page.
    public func commit<Step: Encodable & Sendable>(
        workflowID: String, step: Int, kind: String, runID: UUID, fence: WriteFence,
        page: CanonicalBatch, conflictKey: String, record: Step
    ) async throws {
        let row = try JournalRow(workflowID: workflowID, step: step, runID: runID, kind: kind, record: record)
        try await committer.commit(.init(row: row, fence: fence, effect: nil, page: page, conflictKey: conflictKey))
    }

    /// Batches and commits the group committer wrote so far.
    public var groupCommitStatistics: GroupCommitStatistics { committer.statistics }

    struct JournalRow: Sendable {
        var workflowID: String
        var step: Int
        var runID: UUID
        var kind: String
        var payload: String

        /// The row of a step about to be committed: a record that does not encode is `notCommitted`.
        init<Step: Encodable>(workflowID: String, step: Int, runID: UUID, kind: String, record: Step) throws {
            self.workflowID = workflowID
            self.step = step
            self.runID = runID
            self.kind = kind
            do {
                self.payload = String(decoding: try SerializedJSONEncoder.encode(record), as: UTF8.self)
            } catch {
                throw JournalError(code: .notCommitted, workflowID: workflowID, step: step, detail: "the step's record did not encode: \(error)")
            }
        }
    }

    /// Inserts `row` if, and only if, `fence` still holds, locking the fence row FOR SHARE until the
    /// transaction ends; a moved fence raises SQLSTATE SYF01 (sorted as `ownershipLost`).
    func insert(_ row: JournalRow, under fence: WriteFence, on connection: PostgresConnection) async throws {
        var binds = PostgresBindings(capacity: 8)
        let insert = Self.insertRows([(row, fence)], appendingTo: &binds)
        try await connection.queryUnlessClosed(PostgresQuery(unsafeSQL: insert, binds: binds), logger: logger)
    }

    /// `INSERT INTO workflow_steps … SELECT … FROM unnest(…)` of journal rows. Each row holds its fence:
    /// `sync_hold_shard_fence` / `sync_hold_leader_term` (migration 0003) lock the fence row FOR
    /// SHARE until the transaction ends (a takeover's bump waits) and raise SQLSTATE SYF01 when the
    /// epoch or term moved on, which aborts the statement and whatever its transaction wrote. The
    /// rows go as arrays, so the text is the same for one row
    /// or thirty: a group commit's text then depends only on its effects, and recurs (and runs
    /// prepared) however many commits share it. Every row calls one fence function: the leader
    /// term's wherever no shard is named.
    static func insertRows(_ rows: [(row: JournalRow, fence: WriteFence)], appendingTo binds: inout PostgresBindings) -> String {
        var shards: [String?] = [], epochs: [String?] = [], terms: [String?] = []
        for (_, fence) in rows {
            switch fence {
            case .shard(let shard, let epoch):
                shards.append(String(shard)); epochs.append(String(epoch)); terms.append(nil)
            case .leader(let term):
                shards.append(nil); epochs.append(nil); terms.append(String(term))
            }
        }
        let columns: [[String?]] = [
            rows.map(\.row.workflowID), rows.map { String($0.row.step) }, rows.map(\.row.runID.uuidString),
            rows.map(\.row.kind), rows.map(\.row.payload), shards, epochs, terms,
        ]
        let parameters = columns.map { column -> String in
            binds.append(NullableTextArray(elements: column))
            return "$\(binds.count)::text[]"
        }
        return """
            INSERT INTO workflow_steps (workflow_id, step, run_id, kind, result, shard, fence_epoch, leader_term)
            SELECT j.workflow_id, j.step::integer, j.run_id::uuid, j.kind, j.result::jsonb, j.shard::integer,
                   CASE WHEN j.shard IS NOT NULL THEN sync_hold_shard_fence(j.shard::integer, j.epoch::bigint) END,
                   CASE WHEN j.shard IS NULL THEN sync_hold_leader_term(j.term::bigint) END
            FROM unnest(\(parameters.joined(separator: ", ")))
                WITH ORDINALITY AS j(workflow_id, step, run_id, kind, result, shard, epoch, term, n)
            ORDER BY j.n
            """
    }

    static func classify(_ error: any Error, workflowID: String, step: Int, duringCommit: Bool) -> any Error {
        if error is JournalError { return error }
        if error is PostgresConnectionClosed {
            // Closed before the COMMIT answered: it may have committed or not.
            let code: JournalError.Code = duringCommit ? .outcomeUnknown : .notCommitted
            return JournalError(code: code, workflowID: workflowID, step: step, detail: "\(error)")
        }
        guard let psql = error as? PSQLError else { return error }
        if psql.serverInfo == nil && duringCommit {
            return JournalError(code: .outcomeUnknown, workflowID: workflowID, step: step, detail: describePostgresError(error))
        }
        if psql.serverInfo?[.sqlState] == "SYF01" {
            // Raised by sync_hold_shard_fence / sync_hold_leader_term (migration 0003).
            return JournalError(code: .ownershipLost, workflowID: workflowID, step: step,
                                detail: psql.serverInfo?[.message] ?? "stale fence")
        }
        if psql.serverInfo?[.sqlState] == "23505", psql.serverInfo?[.constraintName] == "workflow_steps_pkey" {
            return JournalError(code: .alreadyCommitted, workflowID: workflowID, step: step, detail: "the step is already in the journal")
        }
        return JournalError(code: .notCommitted, workflowID: workflowID, step: step, detail: describePostgresError(error))
    }
}
