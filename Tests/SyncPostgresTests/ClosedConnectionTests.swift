import Foundation
import Logging
import PostgresNIO
import SyncCore
import Synchronization
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// Postgres ends a session under a query (a restart, `pg_terminate_backend`): every caller must get an
/// error, never wait forever. The chaos soak found workflows hung in "committing" after Postgres
/// restarts; these tests terminate the session of a real connection instead.
@Suite("Queries on a connection Postgres closed")
struct ClosedConnectionTests {
    /// Terminates the backend of `connection` from another session and waits until the client sees it closed.
    static func terminate(_ connection: PostgresConnection, using client: PostgresClient) async throws {
        let backend = try await connection.query("SELECT pg_backend_pid()", logger: TestServices.logger)
            .decode(Int32.self).first { _ in true }
        try #require(backend != nil)
        try await client.query("SELECT pg_terminate_backend(\(backend!))")
        for _ in 0..<100 where !connection.isClosed { try await Task.sleep(for: .milliseconds(20)) }
        try #require(connection.isClosed, "the terminated connection did not close within 2 s")
        // Let the channel finish closing (its handlers leave the pipeline).
        try await Task.sleep(for: .milliseconds(50))
    }

    /// Waits for `body` at most `limit`; nil when it did not finish in time (the task is abandoned).
    static func outcome(within limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> Result<Void, any Error>? {
        let finished = Mutex<Result<Void, any Error>?>(nil)
        Task {
            let result: Result<Void, any Error>
            do { try await body(); result = .success(()) } catch { result = .failure(error) }
            finished.withLock { $0 = result }
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let result = finished.withLock({ $0 }) { return result }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    static func withClient(_ body: @Sendable (PostgresClient, TemporaryDatabase) async throws -> Void) async throws {
        try await FencedJournalTests.withClient(body)
    }

    /// Runs `query` on a connection whose session Postgres has ended, waiting at most `limit`.
    static func outcomeOfQueryAfterClose(
        within limit: Duration, _ query: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws -> Result<Void, any Error>? {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        try await withClient { client, database in
            let connection = try await PostgresConnection.connect(to: database.url, logger: TestServices.logger)
            try await terminate(connection, using: client)
            let result = await Self.outcome(within: limit) { try await query(connection) }
            outcome.withLock { $0 = result }
            try? await connection.close()
        }
        return outcome.withLock { $0 }
    }

    @Test("a query sent on a connection Postgres already closed fails with ConnectionClosed at once")
    func queryAfterClose() async throws {
        let result = try await Self.outcomeOfQueryAfterClose(within: .seconds(5)) { connection in
            _ = try await connection.queryUnlessClosed("SELECT 1", logger: TestServices.logger)
        }
        guard case .failure(let error)? = result else {
            Issue.record("expected a failure, got \(String(describing: result))"); return
        }
        #expect(error is PostgresConnectionClosed, "\(error)")
    }

    @Test("a query lost to a closed connection (sent without the check) is failed by the close watch within a second")
    func closeWatch() async throws {
        let took = Mutex<Duration?>(nil)
        let result = try await Self.outcomeOfQueryAfterClose(within: .seconds(5)) { connection in
            let started = ContinuousClock.now
            defer { took.withLock { $0 = ContinuousClock.now - started } }
            _ = try await connection.queryWatchingClose("SELECT 1", logger: TestServices.logger, checkEvery: .milliseconds(200),
                                                        file: #fileID, line: #line)
        }
        guard case .failure(let error)? = result else {
            Issue.record("expected a failure, got \(String(describing: result))"); return
        }
        #expect(error is PostgresConnectionClosed, "\(error)")
        // Two checks 200 ms apart; a second leaves room for a busy machine.
        #expect(try #require(took.withLock { $0 }) < .seconds(1))
    }

    @Test("a statement in flight when Postgres ends the session fails (PostgresNIO fails it; the watch stays out of the way)")
    func closeWhileWaiting() async throws {
        try await Self.withClient { client, database in
            let connection = try await PostgresConnection.connect(to: database.url, logger: TestServices.logger)
            let backend = try await connection.query("SELECT pg_backend_pid()", logger: TestServices.logger)
                .decode(Int32.self).first { _ in true }
            let killer = Task {
                try await Task.sleep(for: .milliseconds(500))
                try await client.query("SELECT pg_terminate_backend(\(backend!))")
            }
            let result = await Self.outcome(within: .seconds(5)) {
                // The answer (a row description) comes at once; the rows wait for the sleep.
                _ = try await connection.queryUnlessClosed("SELECT pg_sleep(30)", logger: TestServices.logger).collect()
            }
            try await killer.value
            // The channel may still be closing; PostgresNIO asserts a connection is closed before it goes.
            try? await connection.close()
            guard case .failure? = result else {
                Issue.record("expected the sleeping statement to fail, got \(String(describing: result))"); return
            }
        }
    }

    /// Why ``PostgresConnection/queryUnlessClosed`` exists. When a PostgresNIO release fixes this
    /// (the plain query fails instead), this test fails: the workaround can then go.
    @Test("PostgresNIO 1.33: a plain query sent on a connection Postgres already closed never answers")
    func plainQueryAfterCloseHangs() async throws {
        let result = try await Self.outcomeOfQueryAfterClose(within: .seconds(3)) { connection in
            _ = try await connection.query("SELECT 1", logger: TestServices.logger)
        }
        #expect(result == nil, "the plain query answered: \(String(describing: result)); PostgresNIO may have fixed the lost write")
    }

    @Test("a query on an open connection answers as usual")
    func queryWhileOpen() async throws {
        try await Self.withClient { client, _ in
            let value = try await client.queryUnlessClosed("SELECT 41 + 1", logger: TestServices.logger)
                .decode(Int.self).first { _ in true }
            #expect(value == 42)
        }
    }

    @Test("a journal commit whose session Postgres ends mid-transaction fails as not committed, and leaves nothing")
    func commitWhoseSessionEnds() async throws {
        try await Self.withClient { client, _ in
            let fences = FenceStore(client: client, logger: TestServices.logger)
            let journal = JournalStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run created"); return
            }
            let epoch = try await fences.acquireShard(3, owner: "a")
            let result = await Self.outcome(within: .seconds(10)) {
                try await journal.commit(
                    workflowID: "w", step: 0, kind: "page", runID: run.id, fence: .shard(3, epoch: epoch),
                    effect: { connection in
                        try await connection.queryUnlessClosed("UPDATE organizations SET name = 'changed' WHERE id = 'o1'",
                                                               logger: TestServices.logger)
                        // Postgres ends the session between two statements of the transaction.
                        try await Self.terminate(connection, using: client)
                    },
                    record: { _ in ["ok": 1] })
            }
            guard case .failure(let error)? = result else {
                Issue.record("expected the commit to fail, got \(String(describing: result))"); return
            }
            #expect((error as? JournalError)?.code == .notCommitted, "\(error)")
            #expect(try await !journal.stepExists(workflowID: "w", step: 0))
            let name = try await client.query("SELECT name FROM organizations WHERE id = 'o1'").decode(String.self).first { _ in true }
            #expect(name == "O")
        }
    }
}
