import Foundation
import Logging
import PostgresNIO
import SyncCore
import Synchronization
import SyncTestSupport
import Testing
@testable import SyncPostgres

@Suite("Fenced journal against a real Postgres")
struct FencedJournalTests {
    static func withClient(_ body: @Sendable (PostgresClient, TemporaryDatabase) async throws -> Void) async throws {
        try await TemporaryDatabase.withMigrated(prefix: "fence") { database in
            let client = PostgresClient(configuration: database.url.clientConfiguration, backgroundLogger: TestServices.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await client.query("INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('o1', 'O', 'pco', 'http://x')")
                try await body(client, database)
            }
        }
    }

    static func page(_ id: String) -> CanonicalBatch {
        CanonicalBatch(orgID: "o1", adapter: "pco", records: [CanonicalRecord(
            key: ExternalKey(kind: .person, externalType: "Person", externalID: id), values: ["first_name": .text("Z")], raw: "{}"
        )])
    }

    /// How a page's rows commit with its journal row: as the engine's page steps do (one statement,
    /// possibly shared with other steps), or inside a transaction (the path of effects that need
    /// several round trips, such as reconciliation).
    enum PageCommit: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case oneStatement, transaction
        var testDescription: String { rawValue }

        func commit(_ batch: CanonicalBatch, step: Int, runID: UUID, fence: WriteFence, journal: JournalStore) async throws {
            let store = CanonicalStore(logger: TestServices.logger)
            switch self {
            case .oneStatement:
                try await journal.commit(workflowID: "w", step: step, kind: "page", runID: runID, fence: fence,
                                         page: batch, conflictKey: "page/w", record: ["ok": 1])
            case .transaction:
                try await journal.commit(workflowID: "w", step: step, kind: "page", runID: runID, fence: fence,
                                         effect: { try await store.apply(batch, on: $0) }, record: { _ in ["ok": 1] })
            }
        }
    }

    @Test("a commit under a stale shard epoch fails with ownership lost, and nothing of its page is visible",
          arguments: PageCommit.allCases)
    func staleEpoch(path: PageCommit) async throws {
        try await Self.withClient { client, _ in
            let fences = FenceStore(client: client, logger: TestServices.logger)
            let journal = JournalStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run created"); return
            }
            let old = try await fences.acquireShard(7, owner: "a")
            try await path.commit(Self.page("p1"), step: 0, runID: run.id, fence: .shard(7, epoch: old), journal: journal)
            let new = try await fences.acquireShard(7, owner: "b")
            #expect(new == old + 1)
            await #expect {
                try await path.commit(Self.page("p2"), step: 1, runID: run.id, fence: .shard(7, epoch: old), journal: journal)
            } throws: { error in
                (error as? JournalError)?.code == .ownershipLost
            }
            let people = try await client.query("SELECT count(*)::int FROM people").decode(Int.self).first { _ in true }
            #expect(people == 1, "p2 must not be visible")
            let links = try await client.query("SELECT count(*)::int FROM external_links WHERE external_id = 'p2'").decode(Int.self).first { _ in true }
            #expect(links == 0)
            // The new owner commits the same step fine.
            try await path.commit(Self.page("p2"), step: 1, runID: run.id, fence: .shard(7, epoch: new), journal: journal)
            let after = try await client.query("SELECT count(*)::int FROM people").decode(Int.self).first { _ in true }
            #expect(after == 2)
        }
    }

    @Test("a retried step finds its own row: already committed, and its effect is not applied twice")
    func retriedStep() async throws {
        try await Self.withClient { client, _ in
            let fences = FenceStore(client: client, logger: TestServices.logger)
            let journal = JournalStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else { return }
            let epoch = try await fences.acquireShard(1, owner: "a")
            for attempt in 0..<2 {
                do {
                    try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: run.id, fence: .shard(1, epoch: epoch),
                                             effect: { connection in
                                                 try await connection.query("UPDATE organizations SET name = name || '+' WHERE id = 'o1'", logger: TestServices.logger)
                                             }, record: { _ in ["attempt": attempt] })
                    #expect(attempt == 0)
                } catch let error as JournalError {
                    #expect(attempt == 1 && error.code == .alreadyCommitted)
                }
            }
            let name = try await client.query("SELECT name FROM organizations WHERE id = 'o1'").decode(String.self).first { _ in true }
            #expect(name == "O+")
            #expect(try await journal.stepExists(workflowID: "w", step: 0))
            #expect(try await !journal.stepExists(workflowID: "w", step: 1))
        }
    }

    @Test("a fence bump waits for a commit in flight, and for a frozen one only until Postgres ends its idle transaction (3 s)")
    func bumpBehindFrozenCommit() async throws {
        try await Self.withClient { client, database in
            let fences = FenceStore(client: client, logger: TestServices.logger)
            let journal = JournalStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run created"); return
            }
            let epoch = try await fences.acquireShard(5, owner: "frozen")
            // The old owner is mid-commit: its journal row is in, the fence row locked for share by
            // that INSERT (as `commit` does it); then it stops answering before COMMIT.
            let frozen = try await PostgresConnection.connect(to: database.url, logger: TestServices.logger)
            try await frozen.queryUnlessClosed("BEGIN", logger: TestServices.logger)
            let row = try JournalStore.JournalRow(workflowID: "w", step: 0, runID: run.id, kind: "page", record: ["n": 0])
            try await journal.insert(row, under: .shard(5, epoch: epoch), on: frozen)
            let started = ContinuousClock.now
            let bumped = Mutex<ContinuousClock.Instant?>(nil)
            let bump = Task {
                let next = try await fences.acquireShard(5, owner: "next")
                bumped.withLock { $0 = ContinuousClock.now }
                return next
            }
            try await Task.sleep(for: .seconds(1))
            #expect(bumped.withLock { $0 } == nil && !frozen.isClosed, "the bump must wait for the commit in flight")
            for _ in 0..<240 where bumped.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(100)) }
            if bumped.withLock({ $0 }) == nil {
                Issue.record("the bump still waits 25 s later: Postgres did not end the idle transaction")
                try await frozen.close()
            }
            let next = try await bump.value
            #expect(next == epoch + 1)
            if let at = bumped.withLock({ $0 }) {
                #expect(at - started >= .seconds(2.5) && at - started < .seconds(10), "waited \(at - started)")
            }
            // The frozen owner's commit is void: its session is gone, and so is its row.
            await #expect(throws: (any Error).self) {
                try await frozen.queryUnlessClosed("COMMIT", logger: TestServices.logger)
            }
            #expect(try await !journal.stepExists(workflowID: "w", step: 0))
            try? await frozen.close()
        }
    }

    @Test("a second sync of an org while one is active returns the active run")
    func oneActiveRunPerOrg() async throws {
        try await Self.withClient { client, _ in
            let journal = JournalStore(client: client, logger: TestServices.logger)
            guard case .created(let first) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run"); return
            }
            #expect(try await journal.createRun(orgID: "o1", strategy: .delta) == .alreadyActive(first))
            await #expect(throws: JournalError.self) { try await journal.createRun(orgID: "nope", strategy: .full) }
        }
    }
}
