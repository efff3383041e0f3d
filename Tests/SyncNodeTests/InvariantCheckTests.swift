import Foundation
import PostgresNIO
import SyncTestSupport
import Testing

/// The checker the chaos runs end with must be able to fail: after a clean sync it passes, and each
/// kind of corruption planted on purpose is reported as the invariant it breaks.
@Suite("Invariant checker", .serialized)
struct InvariantCheckTests {
    @Test("syncengine check passes a clean sync and reports a duplicated row, a missing row, a changed value and a stale-epoch step")
    func checkerCatchesCorruption() async throws {
        try await DurableSyncTests.withSetup(people: 300) { setup in
            let (node, admin) = try await setup.startNode()
            let run = try await setup.startSync(admin: admin)
            let outcome = try await setup.waitForRun(run)
            #expect(outcome.state == "completed", "\(outcome.reason ?? "")")
            _ = await node.terminate()

            func check() async throws -> (passed: Bool, output: String) {
                let result = try await ProcessRunner.run(try TestServices.engineBinary(), [
                    "check", "--postgres", setup.database.url.description, "--sim-url", setup.simulatorURL, "--org", "1",
                ], environment: ["SYNC_TOKEN_KEY": setup.tokenKey])
                return (result.status == 0, result.stdout + result.stderr)
            }
            func execute(_ sql: String) async throws {
                let connection = try await setup.database.connect()
                defer { Task { try? await connection.close() } }
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestServices.logger)
                } catch {
                    Issue.record("\(sql): \(String(reflecting: error))")
                    throw error
                }
            }

            let clean = try await check()
            #expect(clean.passed, "a clean sync passes: \(clean.output)")

            // A second copy of a person (a new internal id, no link names it).
            try await execute("""
                INSERT INTO people SELECT (jsonb_populate_record(NULL::people, to_jsonb(p) || jsonb_build_object('id', '00000000-0000-0000-0000-0000000000d1'))).*
                FROM people p LIMIT 1
                """)
            let duplicated = try await check()
            #expect(!duplicated.passed && duplicated.output.contains("exactly_once") && duplicated.output.contains("00000000-0000-0000-0000-0000000000d1"),
                    "\(duplicated.output)")
            try await execute("DELETE FROM people WHERE id = '00000000-0000-0000-0000-0000000000d1'")

            // A missing email.
            try await execute("CREATE TABLE removed_email AS SELECT * FROM emails ORDER BY id LIMIT 1")
            try await execute("DELETE FROM emails WHERE id IN (SELECT id FROM removed_email)")
            let missing = try await check()
            #expect(!missing.passed && missing.output.contains("convergence") && missing.output.contains("missing Email"), "\(missing.output)")
            try await execute("INSERT INTO emails SELECT * FROM removed_email")
            try await execute("DROP TABLE removed_email")

            // A changed value.
            try await execute("UPDATE people SET first_name = first_name || '-changed' WHERE id = (SELECT id FROM people WHERE first_name IS NOT NULL ORDER BY id LIMIT 1)")
            let changed = try await check()
            #expect(!changed.passed && changed.output.contains("changed_attributes Person"), "\(changed.output)")
            try await execute("UPDATE people SET first_name = left(first_name, length(first_name) - 8) WHERE first_name LIKE '%-changed'")

            // A page step committed under an epoch older than one already used on its shard.
            try await execute("""
                INSERT INTO workflow_steps (workflow_id, step, run_id, kind, result, shard, fence_epoch, committed_at)
                SELECT workflow_id, 100000, run_id, 'page', '{}', shard, fence_epoch - 1, now() FROM workflow_steps
                WHERE shard IS NOT NULL ORDER BY committed_at LIMIT 1
                """)
            let stale = try await check()
            #expect(!stale.passed && stale.output.contains("single_writer") && stale.output.contains("step 100000"), "\(stale.output)")
            try await execute("DELETE FROM workflow_steps WHERE step = 100000")

            let restored = try await check()
            #expect(restored.passed, "every corruption undone passes again: \(restored.output)")
        }
    }
}
