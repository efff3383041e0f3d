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

    static func lockableRows(_ id: String, on connection: PostgresConnection) async throws -> Int {
        // In autocommit, so a lock taken here is released at once.
        let rows = try await connection.query("""
            SELECT 1 FROM people p JOIN external_links l ON l.internal_id = p.id
            WHERE l.external_id = \(id) FOR UPDATE OF p SKIP LOCKED
            """, logger: TestServices.logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    @Test("a page whose records come in reverse key order waits on the first key before it locks the second")
    func rowsAreLockedInKeyOrder() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "lockorder") { database in
            let writer = try await database.connect()
            let holder = try await database.connect()
            let prober = try await database.connect()
            defer { Task { for connection in [writer, holder, prober] { try? await connection.close() } } }
            let store = CanonicalStore(logger: TestServices.logger)
            let logger = TestServices.logger
            // Stored once, so that the page below updates (and so locks) rows that exist.
            let first = CanonicalBatch(orgID: "o", adapter: "pco", records: [
                Self.person("a1", updated: "2024-01-01T00:00:00Z"), Self.person("a2", updated: "2024-01-01T00:00:00Z"),
            ])
            _ = try await writer.withTransaction(logger: logger) { try await store.apply(first, on: $0) }

            // Another transaction holds a1's row.
            _ = try await holder.query("BEGIN", logger: logger)
            #expect(try await Self.lockableRows("a1", on: holder) == 1)

            // The page lists a2 first. Written in key order, it blocks on a1 with a2 still free.
            let page = CanonicalBatch(orgID: "o", adapter: "pco", records: [
                Self.person("a2", updated: "2024-01-02T00:00:00Z"), Self.person("a1", updated: "2024-01-02T00:00:00Z"),
            ])
            let write = Task { try await writer.withTransaction(logger: logger) { try await store.apply(page, on: $0) } }
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
            #expect(try await Self.lockableRows("a2", on: prober) == 1, "a2, after a1 in key order, is not locked yet")

            _ = try await holder.query("ROLLBACK", logger: logger)
            let written = try await write.value
            #expect(written.totalRows == 2)
        }
    }
}
