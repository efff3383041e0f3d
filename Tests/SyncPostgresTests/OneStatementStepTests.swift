import Foundation
import Logging
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// `JournalStore.commit(statement:)`: a step whose effect is one statement commits effect and journal
/// row in one statement, so the fence check has to abort the statement itself.
@Suite("One-statement journal steps against a real Postgres")
struct OneStatementStepTests {
    /// Counts how often the step's effect was applied (an UPDATE that is not idempotent).
    static let bump: EffectStatement = "UPDATE organizations SET name = name || '+' WHERE id = 'o1'"

    static func name(_ client: PostgresClient) async throws -> String? {
        try await client.query("SELECT name FROM organizations WHERE id = 'o1'").decode(String.self).first { _ in true }
    }

    static func withRun(_ body: @Sendable (PostgresClient, JournalStore, FenceStore, UUID) async throws -> Void) async throws {
        try await FencedJournalTests.withClient { client, _ in
            let journal = JournalStore(client: client, logger: TestServices.logger)
            let fences = FenceStore(client: client, logger: TestServices.logger)
            guard case .created(let run) = try await journal.createRun(orgID: "o1", strategy: .full) else {
                Issue.record("no run created"); return
            }
            try await body(client, journal, fences, run.id)
        }
    }

    @Test("effect and journal row commit together, the row under the held epoch")
    func commitsBoth() async throws {
        try await Self.withRun { client, journal, fences, runID in
            let epoch = try await fences.acquireShard(3, owner: "a")
            try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                     statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            #expect(try await Self.name(client) == "O+")
            let row = try await client.query("SELECT shard, fence_epoch, result::text FROM workflow_steps WHERE workflow_id = 'w' AND step = 0")
                .decode((Int?, Int64?, String).self).first { _ in true }
            #expect(row?.0 == 3)
            #expect(row?.1 == epoch)
            #expect(row?.2 == #"{"n": 0}"#)
        }
    }

    @Test("a nil in an effect is written as NULL, not bound, so one text always binds the same types")
    func nilIsWrittenAsNull() {
        let missing: String? = nil
        let effect: EffectStatement = "UPDATE organizations SET name = \(missing), adapter = \("pco") WHERE id = \("o1")"
        var binds = PostgresBindings()
        #expect(effect.render(appendingTo: &binds) == "UPDATE organizations SET name = NULL, adapter = $1 WHERE id = $2")
        #expect(binds.count == 2)
    }

    /// With 4 earlier commits of the same text, the stale one runs prepared (prepared from a text's
    /// third use on).
    @Test("under a stale epoch the statement fails with ownership lost and its effect is rolled back",
          arguments: [0, 4])
    func staleEpoch(earlierCommits: Int) async throws {
        try await Self.withRun { client, journal, fences, runID in
            let old = try await fences.acquireShard(3, owner: "a")
            for step in 0..<earlierCommits {
                try await journal.commit(workflowID: "w", step: step, kind: "effect", runID: runID, fence: .shard(3, epoch: old),
                                         statement: Self.bump, conflictKey: "organizations/o1", record: ["n": step])
            }
            let committed = "O" + String(repeating: "+", count: earlierCommits)
            #expect(try await Self.name(client) == committed)
            _ = try await fences.acquireShard(3, owner: "b")
            await #expect {
                try await journal.commit(workflowID: "w", step: earlierCommits, kind: "effect", runID: runID, fence: .shard(3, epoch: old),
                                         statement: Self.bump, conflictKey: "organizations/o1", record: ["n": earlierCommits])
            } throws: { error in
                guard let error = error as? JournalError else { return false }
                return error.code == .ownershipLost && error.detail.contains("stale shard 3 epoch \(old)")
            }
            #expect(try await Self.name(client) == committed, "the stale writer's effect must not be visible")
            #expect(try await !journal.stepExists(workflowID: "w", step: earlierCommits))
        }
    }

    @Test("a shard that was never taken refuses the step")
    func unknownShard() async throws {
        try await Self.withRun { client, journal, _, runID async throws in
            await #expect {
                try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: runID, fence: .shard(99, epoch: 1),
                                         statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            } throws: { ($0 as? JournalError)?.code == .ownershipLost }
            #expect(try await Self.name(client) == "O")
        }
    }

    @Test("a retried step finds its own row: already committed, and the effect is not applied twice")
    func retried() async throws {
        try await Self.withRun { client, journal, fences, runID in
            let epoch = try await fences.acquireShard(3, owner: "a")
            try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                     statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            await #expect {
                try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                         statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            } throws: { ($0 as? JournalError)?.code == .alreadyCommitted }
            #expect(try await Self.name(client) == "O+")
        }
    }

    @Test("under the leader term: a stale term is refused, the current one commits")
    func leaderTerm() async throws {
        try await Self.withRun { client, journal, fences, runID in
            let old = try await fences.beginLeaderTerm(leader: "a")
            let current = try await fences.beginLeaderTerm(leader: "b")
            await #expect {
                try await journal.commit(workflowID: "run", step: 0, kind: "decision", runID: runID, fence: .leader(term: old),
                                         statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            } throws: { ($0 as? JournalError)?.code == .ownershipLost }
            #expect(try await Self.name(client) == "O")
            try await journal.commit(workflowID: "run", step: 0, kind: "decision", runID: runID, fence: .leader(term: current),
                                     statement: Self.bump, conflictKey: "organizations/o1", record: ["n": 0])
            #expect(try await Self.name(client) == "O+")
            let term = try await client.query("SELECT leader_term FROM workflow_steps WHERE workflow_id = 'run'").decode(Int64?.self).first { _ in true }
            #expect(term == current)
        }
    }

    @Test("each effect's parameters are numbered after the ones before it, and the journal rows' arrays after all effects")
    func parameters() throws {
        func commit(_ workflow: String, _ effect: EffectStatement?) throws -> GroupCommitter.Commit {
            .init(row: try JournalStore.JournalRow(workflowID: workflow, step: 2, runID: UUID(), kind: "k", record: ["n": 1]),
                  fence: .shard(4, epoch: 9), effect: effect, conflictKey: nil)
        }
        let journalArrays = { (first: Int) in (first..<first + 8).map { "$\($0)::text[]" }.joined(separator: ", ") }
        let first: EffectStatement = "UPDATE organizations SET name = \("x") WHERE id = \("o1");  "
        let single = try #require(GroupCommitter.statement(for: [try commit("w", first)]))
        #expect(single.binds.count == 2 + 8)
        #expect(single.sql.hasPrefix("WITH effect_0 AS (UPDATE organizations SET name = $1 WHERE id = $2)"))
        #expect(single.sql.contains("FROM unnest(\(journalArrays(3)))"))
        #expect(!single.sql.contains(";"))

        let second: EffectStatement = "DELETE FROM organizations WHERE id = \("o2")"
        let batch = try #require(GroupCommitter.statement(for: [try commit("a", first), try commit("b", nil), try commit("c", second)]))
        // The effects first, numbered in order (b has none), then the three journal rows as eight arrays.
        #expect(batch.binds.count == 2 + 1 + 8)
        #expect(batch.sql.contains("effect_0 AS (UPDATE organizations SET name = $1 WHERE id = $2)"))
        #expect(batch.sql.contains("effect_1 AS (DELETE FROM organizations WHERE id = $3)"))
        #expect(!batch.sql.contains("effect_2"))
        #expect(batch.sql.contains("FROM unnest(\(journalArrays(4)))"))
    }

    @Test("a batch's text does not depend on how many commits it carries, only on their effects")
    func textIndependentOfCount() throws {
        func commit(_ workflow: String) throws -> GroupCommitter.Commit {
            .init(row: try JournalStore.JournalRow(workflowID: workflow, step: 0, runID: UUID(), kind: "k", record: ["n": 1]),
                  fence: workflow == "leader" ? .leader(term: 3) : .shard(4, epoch: 9), effect: nil, conflictKey: nil)
        }
        let one = try #require(GroupCommitter.statement(for: [try commit("a")]))
        let three = try #require(GroupCommitter.statement(for: [try commit("a"), try commit("b"), try commit("leader")]))
        #expect(one.sql == three.sql)
        #expect(one.binds.count == three.binds.count)
    }

    @Test("rows of a batch under shard fences and a leader term each hold their own fence")
    func mixedFences() async throws {
        try await Self.withRun { client, journal, fences, runID in
            let epoch = try await fences.acquireShard(3, owner: "a")
            let term = try await fences.beginLeaderTerm(leader: "a")
            let rows: [(JournalStore.JournalRow, WriteFence)] = [
                (try .init(workflowID: "w1", step: 0, runID: runID, kind: "k", record: ["n": 1]), .shard(3, epoch: epoch)),
                (try .init(workflowID: "w2", step: 0, runID: runID, kind: "k", record: ["n": 2]), .leader(term: term)),
            ]
            let statement = try #require(GroupCommitter.statement(for: rows.map { .init(row: $0.0, fence: $0.1, effect: nil, conflictKey: nil) }))
            try await client.query(statement)
            let stored = try await client.query("""
                SELECT workflow_id || ' ' || coalesce(shard::text, '-') || ' ' || coalesce(fence_epoch::text, '-') || ' '
                       || coalesce(leader_term::text, '-') || ' ' || (result->>'n')
                FROM workflow_steps WHERE workflow_id IN ('w1', 'w2') ORDER BY 1
                """).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            #expect(stored == ["w1 3 \(epoch) - 1", "w2 - - \(term) 2"])
            // A stale term, then a stale epoch, refuses the whole statement: nothing of it is written.
            func batch(shardEpoch: Int64, term: Int64) throws -> PostgresQuery {
                try #require(GroupCommitter.statement(for: [
                    .init(row: try .init(workflowID: "w3", step: 0, runID: runID, kind: "k", record: ["n": 3]),
                          fence: .shard(3, epoch: shardEpoch), effect: nil, conflictKey: nil),
                    .init(row: try .init(workflowID: "w4", step: 0, runID: runID, kind: "k", record: ["n": 4]),
                          fence: .leader(term: term), effect: nil, conflictKey: nil),
                ]))
            }
            let newTerm = try await fences.beginLeaderTerm(leader: "b")
            let staleTerm = try batch(shardEpoch: epoch, term: term)
            await #expect(throws: (any Error).self) { try await client.query(staleTerm) }
            let newEpoch = try await fences.acquireShard(3, owner: "b")
            let staleEpoch = try batch(shardEpoch: epoch, term: newTerm)
            await #expect(throws: (any Error).self) { try await client.query(staleEpoch) }
            #expect(try await client.query("SELECT count(*)::int FROM workflow_steps WHERE workflow_id IN ('w3', 'w4')")
                .decode(Int.self).first { _ in true } == 0)
            // Both current: written.
            try await client.query(try batch(shardEpoch: newEpoch, term: newTerm))
            #expect(try await client.query("SELECT count(*)::int FROM workflow_steps WHERE workflow_id IN ('w3', 'w4')")
                .decode(Int.self).first { _ in true } == 2)
        }
    }

    @Test("a semicolon inside the effect's string literal is data, not a second statement")
    func semicolonInLiteral() async throws {
        try await Self.withRun { client, journal, fences, runID in
            let epoch = try await fences.acquireShard(3, owner: "a")
            try await journal.commit(workflowID: "w", step: 0, kind: "effect", runID: runID, fence: .shard(3, epoch: epoch),
                                     statement: "UPDATE organizations SET name = name || ';+' WHERE id = 'o1';", conflictKey: "organizations/o1", record: ["n": 0])
            #expect(try await Self.name(client) == "O;+")
        }
    }
}
