import Foundation
import Logging
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// Group commit (`GroupCommitter`): one-statement commits that wait for a busy slot leave together in
/// one statement, and a batch Postgres refuses changes nothing and sorts each commit's own outcome.
///
/// Each test holds the journal's only slot with a commit whose effect waits for a row lock the test
/// holds on a connection of its own, and lets it go once every other commit is waiting, so that
/// those are known to leave together as the next batch.
@Suite("Group commit of journal steps against a real Postgres")
struct GroupCommitTests {
    /// A journal with one slot, a run, shard 3 owned at `epoch`, an `effects` table and the `gate`
    /// row whose lock holds the slot.
    static func withJournal(
        _ body: @Sendable (PostgresClient, JournalStore, FenceStore, UUID, Int64, TemporaryDatabase) async throws -> Void
    ) async throws {
        try await FencedJournalTests.withClient { client, database in
            let journal = JournalStore(client: client, logger: TestServices.logger, groupCommitSlots: 1, groupCommitBatch: 32)
            let fences = FenceStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run created"); return
            }
            try await client.query("CREATE TABLE effects (workflow_id text NOT NULL, step integer NOT NULL, PRIMARY KEY (workflow_id, step))")
            try await client.query("CREATE TABLE gate (id integer PRIMARY KEY, passed integer NOT NULL)")
            try await client.query("INSERT INTO gate VALUES (1, 0)")
            let epoch = try await fences.acquireShard(3, owner: "a")
            try await body(client, journal, fences, run.id, epoch, database)
        }
    }

    /// Polls (at most 10 s) until `condition` holds of the journal's group-commit state.
    static func waitFor(_ journal: JournalStore, _ what: String, _ condition: (GroupCommitStatistics) -> Bool) async throws {
        for _ in 0..<1_000 {
            if condition(journal.groupCommitStatistics) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("group commit never reached: \(what) (\(journal.groupCommitStatistics))")
    }

    /// Commits `commits` while the slot is held by a commit stuck on the gate's row lock, so that
    /// they all wait and leave as one batch after it; returns each commit's outcome, in order.
    static func whileSlotHeld(
        _ journal: JournalStore, runID: UUID, epoch: Int64, database: TemporaryDatabase,
        _ commits: [@Sendable () async throws -> Void]
    ) async throws -> [Result<Void, any Error>] {
        let holder = try await PostgresConnection.connect(to: database.url, logger: TestServices.logger)
        try await holder.query("BEGIN", logger: TestServices.logger)
        try await holder.query("UPDATE gate SET passed = passed WHERE id = 1", logger: TestServices.logger)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
            group.addTask {
                try await journal.commit(
                    workflowID: "blocker", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                    statement: "UPDATE gate SET passed = passed + 1 WHERE id = 1", conflictKey: "gate/1", record: ["n": 0])
                return (-1, .success(()))
            }
            try await waitFor(journal, "the blocker in flight") { $0.inFlight == 1 }
            for (index, commit) in commits.enumerated() {
                group.addTask {
                    do { try await commit(); return (index, .success(())) } catch { return (index, .failure(error)) }
                }
            }
            try await waitFor(journal, "\(commits.count) commits waiting") { $0.waiting == commits.count }
            try await holder.query("COMMIT", logger: TestServices.logger)
            var outcomes = [Result<Void, any Error>?](repeating: nil, count: commits.count)
            for try await (index, outcome) in group where index >= 0 { outcomes[index] = outcome }
            return outcomes.map { $0! }
        }
        try await holder.close()
        return outcomes
    }

    static func effectCommit(_ journal: JournalStore, _ workflow: String, step: Int = 0, runID: UUID, fence: WriteFence) -> @Sendable () async throws -> Void {
        {
            try await journal.commit(
                workflowID: workflow, step: step, kind: "effect", runID: runID, fence: fence,
                statement: "INSERT INTO effects (workflow_id, step) VALUES (\(workflow), \(step))",
                conflictKey: "effects/\(workflow)/\(step)", record: ["step": step])
        }
    }

    static func count(_ client: PostgresClient, _ sql: PostgresQuery) async throws -> Int {
        try await client.query(sql).decode(Int.self).first { _ in true } ?? -1
    }

    @Test("commits that wait for the slot leave as one statement, and every effect and journal row is there once")
    func batches() async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            let commits = (0..<12).map { Self.effectCommit(journal, "w\($0)", runID: runID, fence: .shard(3, epoch: epoch)) }
                + (0..<4).map { number in
                    { @Sendable in
                        try await journal.commit(workflowID: "decisions\(number)", step: 0, kind: "decision", runID: runID,
                                                 fence: .shard(3, epoch: epoch), record: ["decision": number])
                    }
                }
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, commits)
            for outcome in outcomes { try outcome.get() }
            let statistics = journal.groupCommitStatistics
            #expect(statistics.batches == 2, "the blocker alone, then the 16 together")
            #expect(statistics.commits == 17)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM effects WHERE workflow_id LIKE 'w%'") == 12)
            #expect(try await Self.count(client, "SELECT passed FROM gate") == 1)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM workflow_steps WHERE shard = 3 AND fence_epoch = \(epoch)") == 17)
            let decision = try await client.query("SELECT result::text FROM workflow_steps WHERE workflow_id = 'decisions2'")
                .decode(String.self).first { _ in true }
            #expect(decision == #"{"decision": 2}"#)
        }
    }

    @Test("a stale fence in a batch fails only its own commit, with nothing of it visible; the others commit")
    func staleFenceInBatch() async throws {
        try await Self.withJournal { client, journal, fences, runID, epoch, database in
            let stale = try await fences.acquireShard(5, owner: "a")
            _ = try await fences.acquireShard(5, owner: "b")
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, [
                Self.effectCommit(journal, "a", runID: runID, fence: .shard(3, epoch: epoch)),
                Self.effectCommit(journal, "stale", runID: runID, fence: .shard(5, epoch: stale)),
                Self.effectCommit(journal, "b", runID: runID, fence: .shard(3, epoch: epoch)),
            ])
            #expect(throws: Never.self) { try outcomes[0].get() }
            #expect(throws: Never.self) { try outcomes[2].get() }
            #expect { try outcomes[1].get() } throws: { ($0 as? JournalError)?.code == .ownershipLost }
            #expect(journal.groupCommitStatistics.refusedBatches == 1)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM effects WHERE workflow_id IN ('a', 'b')") == 2)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM effects WHERE workflow_id = 'stale'") == 0)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM workflow_steps WHERE workflow_id = 'stale'") == 0)
        }
    }

    @Test("a step already journaled in a batch is alreadyCommitted, its effect not applied again; the others commit")
    func duplicateInBatch() async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            try await journal.commit(workflowID: "done", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                     statement: OneStatementStepTests.bump, conflictKey: "organizations/o1", record: ["n": 0])
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, [
                Self.effectCommit(journal, "a", runID: runID, fence: .shard(3, epoch: epoch)),
                { try await journal.commit(workflowID: "done", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                           statement: OneStatementStepTests.bump, conflictKey: "organizations/o1", record: ["n": 0]) },
                Self.effectCommit(journal, "b", runID: runID, fence: .shard(3, epoch: epoch)),
            ])
            #expect(throws: Never.self) { try outcomes[0].get() }
            #expect(throws: Never.self) { try outcomes[2].get() }
            #expect { try outcomes[1].get() } throws: { ($0 as? JournalError)?.code == .alreadyCommitted }
            #expect(try await OneStatementStepTests.name(client) == "O+")
            #expect(try await Self.count(client, "SELECT count(*)::int FROM effects WHERE workflow_id IN ('a', 'b')") == 2)
        }
    }

    @Test("two effects on the same row never share a statement: both updates are applied")
    func conflictingEffectsApart() async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            let bump = { @Sendable (workflow: String) in
                try await journal.commit(workflowID: workflow, step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                         statement: OneStatementStepTests.bump, conflictKey: "organizations/o1", record: ["n": 0])
            }
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, [
                { try await bump("x") }, Self.effectCommit(journal, "a", runID: runID, fence: .shard(3, epoch: epoch)), { try await bump("y") },
            ])
            for outcome in outcomes { try outcome.get() }
            // In one statement both UPDATEs would see the row as it was and Postgres would apply one.
            #expect(try await OneStatementStepTests.name(client) == "O++")
            #expect(journal.groupCommitStatistics.batches == 3, "the blocker; x and a; then y")
        }
    }

    /// A page of one person and the emails that point at them (links, two tables, edges).
    static func page(
        person: String, emails: [String], first: String = "Ann", updated: String = "2024-01-01T00:00:00Z", orgID: String = "o1"
    ) -> CanonicalBatch {
        let personKey = ExternalKey(kind: .person, externalType: "Person", externalID: person)
        var records = [CanonicalRecord(key: personKey, values: ["first_name": .text(first)], raw: "{}",
                                       sourceUpdatedAt: updated)]
        for email in emails {
            records.append(CanonicalRecord(
                key: ExternalKey(kind: .email, externalType: "Email", externalID: email),
                values: ["person_id": .reference(personKey), "address": .text("\(email)@example.org")], raw: "{}",
                relationships: [RelationshipAssertion(relationship: "person", targets: [personKey])]
            ))
        }
        return CanonicalBatch(orgID: orgID, adapter: "pco", records: records)
    }

    static func pageCommit(_ journal: JournalStore, _ workflow: String, _ batch: CanonicalBatch, runID: UUID, fence: WriteFence)
        -> @Sendable () async throws -> Void {
        {
            try await journal.commit(workflowID: workflow, step: 0, kind: "page", runID: runID, fence: fence,
                                     page: batch, conflictKey: "page/\(workflow)", record: ["page": workflow])
        }
    }

    @Test("pages' effects (each a list of CTEs) share one statement: every page's links, rows and edges are stored")
    func pagesInOneStatement() async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            let fence = WriteFence.shard(3, epoch: epoch)
            let commits = (0..<6).map { index in
                Self.pageCommit(journal, "p\(index)", Self.page(person: "p\(index)", emails: ["e\(index)a", "e\(index)b"]),
                                runID: runID, fence: fence)
            } + [Self.effectCommit(journal, "plain", runID: runID, fence: fence)]
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, commits)
            for outcome in outcomes { try outcome.get() }
            #expect(journal.groupCommitStatistics.batches == 2, "the blocker alone, then the 6 pages and the plain effect together")
            #expect(journal.groupCommitStatistics.refusedBatches == 0)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM people") == 6)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM emails") == 12)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM external_links WHERE NOT is_placeholder") == 18)
            // Every email points at its own page's person, by column and by edge.
            #expect(try await Self.count(client, """
                SELECT count(*)::int FROM emails e
                JOIN external_links le ON le.internal_id = e.id JOIN external_links lp ON lp.internal_id = e.person_id
                JOIN edges d ON d.source_id = e.id AND d.target_id = e.person_id AND d.relationship = 'person'
                WHERE substr(le.external_id, 2, 1) = substr(lp.external_id, 2, 1)
                """) == 12)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM effects WHERE workflow_id = 'plain'") == 1)
        }
    }

    /// The two commits reach the queue in either order (they are tasks of a group), so the copies
    /// differ in time: the newer stays whichever comes first (equal times: `CanonicalBatchMergeTests`).
    @Test("two pages that store the same record in one batch are merged: the newer copy stays",
          arguments: [("2024-01-02T00:00:00Z", "Bo"), ("2023-12-31T00:00:00Z", "Ann")])
    func pagesOnOneRecord(secondUpdated: String, kept: String) async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            let fence = WriteFence.shard(3, epoch: epoch)
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, [
                Self.pageCommit(journal, "first", Self.page(person: "p1", emails: ["e1"], first: "Ann"), runID: runID, fence: fence),
                Self.pageCommit(journal, "second", Self.page(person: "p1", emails: ["e2"], first: "Bo", updated: secondUpdated),
                                runID: runID, fence: fence),
            ])
            for outcome in outcomes { try outcome.get() }
            #expect(journal.groupCommitStatistics.batches == 2, "the blocker, then both pages in one statement")
            #expect(journal.groupCommitStatistics.refusedBatches == 0)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM people") == 1)
            #expect(try await client.query("SELECT first_name FROM people").decode(String.self).first { _ in true } == kept)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM external_links WHERE external_id = 'p1'") == 1)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM emails") == 2)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM edges WHERE relationship = 'person'") == 2)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM workflow_steps WHERE workflow_id IN ('first', 'second')") == 2)
        }
    }

    @Test("two pages whose shared record the merge cannot order: the batch is written one commit at a time")
    func pagesNotMerged() async throws {
        try await Self.withJournal { client, journal, _, runID, epoch, database in
            let fence = WriteFence.shard(3, epoch: epoch)
            let outcomes = try await Self.whileSlotHeld(journal, runID: runID, epoch: epoch, database: database, [
                Self.pageCommit(journal, "first", Self.page(person: "p1", emails: ["e1"], first: "Ann", updated: "2024-01-01T00:00:00.7Z"),
                                runID: runID, fence: fence),
                Self.pageCommit(journal, "second", Self.page(person: "p1", emails: ["e2"], first: "Bo", updated: "2024-01-01T00:00:00.2Z"),
                                runID: runID, fence: fence),
            ])
            for outcome in outcomes { try outcome.get() }
            #expect(journal.groupCommitStatistics.splitBatches == 1)
            #expect(journal.groupCommitStatistics.refusedBatches == 0)
            // Written one after the other, the older copy (in either order) does not overwrite the newer.
            #expect(try await client.query("SELECT first_name FROM people").decode(String.self).first { _ in true } == "Ann")
            #expect(try await Self.count(client, "SELECT count(*)::int FROM emails") == 2)
            #expect(try await Self.count(client, "SELECT count(*)::int FROM workflow_steps WHERE workflow_id IN ('first', 'second')") == 2)
        }
    }

    @Test("a batch's pages become one page expression per org; plain effects stay as they are; an unmergeable page leaves no statement")
    func onePagePerOrg() throws {
        func commit(_ workflow: String, effect: EffectStatement? = nil, page: CanonicalBatch? = nil) throws -> GroupCommitter.Commit {
            let row = try JournalStore.JournalRow(workflowID: workflow, step: 0, runID: UUID(), kind: "page", record: ["n": 0])
            return GroupCommitter.Commit(row: row, fence: .shard(3, epoch: 1), effect: effect, page: page, conflictKey: workflow)
        }
        let commits = try [
            commit("a", page: Self.page(person: "p1", emails: ["e1"])),
            commit("plain", effect: "INSERT INTO effects (workflow_id, step) VALUES ('plain', 0)"),
            commit("b", page: Self.page(person: "p2", emails: ["e2", "e3"])),
            commit("c", page: Self.page(person: "p3", emails: [], orgID: "o2")),
            commit("d", page: Self.page(person: "p1", emails: ["e4"], updated: "2024-01-01T00:00:00.5Z")),
        ]
        // The plain effect; o1's pages a and b merged; o2's page.
        let effects = try #require(GroupCommitter.effects(of: Array(commits.prefix(4))))
        #expect(effects.map(\.shape) == [.statement, .commonTableExpressions, .commonTableExpressions])
        let text = try #require(GroupCommitter.statement(for: Array(commits.prefix(4)))).sql
        #expect(text.components(separatedBy: "INSERT INTO external_links").count - 1 == 2)
        // d shares p1 with a at a time the merge cannot order: no one statement for the batch.
        #expect(GroupCommitter.effects(of: commits) == nil)
        #expect(GroupCommitter.statement(for: commits) == nil)
    }
}
