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

    @Test("each effect's parameters are numbered after the ones before it, and the journal rows' after all effects")
    func parameters() throws {
        func commit(_ workflow: String, _ effect: EffectStatement?) throws -> GroupCommitter.Commit {
            .init(row: try JournalStore.JournalRow(workflowID: workflow, step: 2, runID: UUID(), kind: "k", record: ["n": 1]),
                  fence: .shard(4, epoch: 9), effect: effect, conflictKey: nil)
        }
        let first: EffectStatement = "UPDATE organizations SET name = \("x") WHERE id = \("o1");  "
        let single = GroupCommitter.statement(for: [try commit("w", first)])
        #expect(single.binds.count == 2 + 7)
        #expect(single.sql.hasPrefix("WITH effect_0 AS (UPDATE organizations SET name = $1 WHERE id = $2)"))
        #expect(single.sql.contains("sync_hold_shard_fence($8::integer, $9::bigint)"))
        #expect(!single.sql.contains(";"))

        let second: EffectStatement = "DELETE FROM organizations WHERE id = \("o2")"
        let batch = GroupCommitter.statement(for: [try commit("a", first), try commit("b", nil), try commit("c", second)])
        #expect(batch.binds.count == 2 + 7 + 7 + 1 + 7)
        // The effects first, numbered in order (b has none), then the three journal rows.
        #expect(batch.sql.contains("effect_0 AS (UPDATE organizations SET name = $1 WHERE id = $2)"))
        #expect(batch.sql.contains("effect_1 AS (DELETE FROM organizations WHERE id = $3)"))
        #expect(!batch.sql.contains("effect_2"))
        #expect(batch.sql.contains("sync_hold_shard_fence($9::integer, $10::bigint)"))
        #expect(batch.sql.contains("sync_hold_shard_fence($16::integer, $17::bigint)"))
        #expect(batch.sql.contains("sync_hold_shard_fence($23::integer, $24::bigint)"))
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
