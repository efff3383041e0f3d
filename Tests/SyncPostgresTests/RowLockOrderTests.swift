import Foundation
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// Two statements that write the same records must lock them in one order, or they can deadlock
/// (Postgres then cancels one, but only after deadlock_timeout, 1 s by default). A page therefore
/// writes each table's rows in key order, whatever the order of its records.
@Suite("Row lock order against a real Postgres")
struct RowLockOrderTests {
    static func person(_ id: String, updated: String) -> CanonicalRecord {
        CanonicalRecord(key: ExternalKey(kind: .person, externalType: "Person", externalID: id),
                        values: ["first_name": .text(id)], raw: "{}", sourceUpdatedAt: updated)
    }

    static func household(_ id: String, updated: String) -> CanonicalRecord {
        CanonicalRecord(key: ExternalKey(kind: .household, externalType: "Household", externalID: id),
                        values: ["name": .text(id)], raw: "{}", sourceUpdatedAt: updated)
    }

    /// Rows of `table` under external id `id` that no other transaction holds.
    static func lockableRows(_ id: String, in table: String = "people", on connection: PostgresConnection) async throws -> Int {
        // In autocommit, so a lock taken here is released at once.
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT 1 FROM \(table) r JOIN external_links l ON l.internal_id = r.id
            WHERE l.external_id = $1 FOR UPDATE OF r SKIP LOCKED
            """, binds: try postgresBindings(id)), logger: TestServices.logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// How the page is written: as `CanonicalStore.apply` does on its own (its statement reads the
    /// row counts of every table), or as the engine's page steps commit it (with the journal row,
    /// whose INSERT reads none of them).
    enum Path: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case store, journal
        var testDescription: String { rawValue }
    }

    /// Stores `seed`, holds `held` (table, external id) in another transaction, writes `page`
    /// concurrently along `path` and, once its statement waits for a lock, returns whether `probe`
    /// (table, external id) is still free; then lets the page finish and checks its rows.
    static func isFreeWhilePageWaits(
        path: Path, seed: [CanonicalRecord], held: (String, String), page records: [CanonicalRecord], probe: (String, String)
    ) async throws -> Bool {
        try await TemporaryDatabase.withMigrated(prefix: "lockorder") { database in
            let logger = TestServices.logger
            let client = PostgresClient(configuration: database.url.clientConfiguration, backgroundLogger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let holder = try await database.connect()
                let prober = try await database.connect()
                defer { Task { for connection in [holder, prober] { try? await connection.close() } } }
                let store = CanonicalStore(logger: logger)
                let journal = JournalStore(client: client, logger: logger)
                try await client.query("INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('o', 'O', 'pco', 'http://x')")
                guard case .created(let run) = try await journal.createRun(orgID: "o", strategy: .full) else {
                    Issue.record("no run created")
                    return false
                }
                let epoch = try await FenceStore(client: client, logger: logger).acquireShard(1, owner: "a")
                // Stored once, so that the page below updates (and so locks) rows that exist.
                _ = try await client.withTransaction(logger: logger) {
                    try await store.apply(CanonicalBatch(orgID: "o", adapter: "pco", records: seed), on: $0)
                }
                _ = try await holder.query("BEGIN", logger: logger)
                #expect(try await lockableRows(held.1, in: held.0, on: holder) == 1)

                let page = CanonicalBatch(orgID: "o", adapter: "pco", records: records)
                let write = Task {
                    switch path {
                    case .store:
                        _ = try await client.withTransaction(logger: logger) { try await store.apply(page, on: $0) }
                    case .journal:
                        try await journal.commit(workflowID: "w", step: 0, kind: "page", runID: run.id, fence: .shard(1, epoch: epoch),
                                                 page: page, conflictKey: "page/w", record: ["ok": 1])
                    }
                }
                let deadline = ContinuousClock.now + .seconds(10)
                var waiting = 0
                while waiting == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    for try await count in try await prober.query("""
                        SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                        """, logger: logger).decode(Int.self) {
                        waiting = count
                    }
                }
                try #require(waiting == 1, "the page's statement waits on the held row")
                let free = try await lockableRows(probe.1, in: probe.0, on: prober) == 1

                _ = try await holder.query("ROLLBACK", logger: logger)
                try await write.value
                for record in records {
                    let table = record.key.kind.table
                    let rows = try await client.query(PostgresQuery(unsafeSQL: """
                        SELECT count(*)::int FROM \(table) r JOIN external_links l ON l.internal_id = r.id
                        WHERE l.external_id = $1 AND r.source_updated_at = $2::timestamptz
                        """, binds: try postgresBindings(record.key.externalID, record.sourceUpdatedAt ?? "")), logger: logger)
                    for try await count in rows.decode(Int.self) { #expect(count == 1, "\(record.key) written") }
                }
                return free
            }
        }
    }

    @Test("a page whose records come in reverse key order waits on the first key before it locks the second", arguments: Path.allCases)
    func rowsAreLockedInKeyOrder(path: Path) async throws {
        let free = try await Self.isFreeWhilePageWaits(path: path,
            seed: [Self.person("a1", updated: "2024-01-01T00:00:00Z"), Self.person("a2", updated: "2024-01-01T00:00:00Z")],
            held: ("people", "a1"),
            page: [Self.person("a2", updated: "2024-01-02T00:00:00Z"), Self.person("a1", updated: "2024-01-02T00:00:00Z")],
            probe: ("people", "a2"))
        #expect(free, "a2, after a1 in key order, is not locked yet")
    }

    @Test("a page writes its tables in one fixed order: households before people, even with no edges to write", arguments: Path.allCases)
    func tablesAreLockedInOneOrder(path: Path) async throws {
        // No relationships, so no edge expression reads the row expressions: Postgres runs them at
        // the end of the statement, in reverse order, unless each waits for the one before.
        let free = try await Self.isFreeWhilePageWaits(path: path,
            seed: [Self.person("p1", updated: "2024-01-01T00:00:00Z"), Self.household("h1", updated: "2024-01-01T00:00:00Z")],
            held: ("households", "h1"),
            page: [Self.person("p1", updated: "2024-01-02T00:00:00Z"), Self.household("h1", updated: "2024-01-02T00:00:00Z")],
            probe: ("people", "p1"))
        #expect(free, "p1 (people come after households) is not locked yet")
    }
}
