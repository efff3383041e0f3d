import Logging
import PostgresNIO
import SyncCore

/// Checks the journal and the canonical tables against the invariants of DESIGN §5 that Postgres
/// alone can show (convergence with the source is ``ConvergenceCheck``'s):
///
/// - **single writer / exactly-once commits**: per shard, no step committed under an epoch after a
///   step under a higher one (likewise leader terms for the orchestrators). `committed_at` is each
///   transaction's start; a takeover's epoch bump waits for every transaction holding the old
///   epoch, so an old-epoch step can never start after a new-epoch one — if one does, a stale owner
///   committed.
/// - **no lost runs**: every run is terminal (call it once the runs should have ended).
/// - **nothing written twice**: every canonical row is the target of exactly one external link; a
///   second copy of a record, or a row no link names, is a duplicate.
public struct InvariantCheck: Sendable {
    public struct Violation: Sendable, Hashable, Codable, CustomStringConvertible {
        public enum Invariant: String, Sendable, Hashable, Codable {
            case singleWriter = "single_writer"
            case noLostRuns = "no_lost_runs"
            case exactlyOnce = "exactly_once"
        }
        public var invariant: Invariant
        public var detail: String
        public var description: String { "\(invariant.rawValue): \(detail)" }
    }

    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func check(postgres: PostgresClient, requireTerminalRuns: Bool = true, limit: Int = 20) async throws -> [Violation] {
        var violations: [Violation] = []
        // One pass per table: each step against the highest epoch (term) of the steps that started
        // strictly before it on its shard.
        let staleShardSteps = try await postgres.queryUnlessClosed("""
            SELECT workflow_id, step, shard, fence_epoch, prior FROM (
              SELECT workflow_id, step, shard, fence_epoch, committed_at,
                     max(fence_epoch) OVER (PARTITION BY shard ORDER BY committed_at
                                            RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond'::interval PRECEDING) AS prior
              FROM workflow_steps WHERE shard IS NOT NULL AND fence_epoch IS NOT NULL) t
            WHERE fence_epoch < prior ORDER BY committed_at LIMIT \(limit)
            """, logger: logger)
        for (workflow, step, shard, epoch, newer) in try staleShardSteps.decode((String, Int, Int, Int64, Int64).self) {
            violations.append(.init(invariant: .singleWriter,
                detail: "\(workflow) step \(step) committed under shard \(shard) epoch \(epoch) after a step under epoch \(newer)"))
        }
        let staleTermSteps = try await postgres.queryUnlessClosed("""
            SELECT workflow_id, step, leader_term, prior FROM (
              SELECT workflow_id, step, leader_term, committed_at,
                     max(leader_term) OVER (ORDER BY committed_at
                                            RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond'::interval PRECEDING) AS prior
              FROM workflow_steps WHERE leader_term IS NOT NULL) t
            WHERE leader_term < prior ORDER BY committed_at LIMIT \(limit)
            """, logger: logger)
        for (workflow, step, term, newer) in try staleTermSteps.decode((String, Int, Int64, Int64).self) {
            violations.append(.init(invariant: .singleWriter,
                detail: "\(workflow) step \(step) committed under leader term \(term) after a step under term \(newer)"))
        }
        if requireTerminalRuns {
            let open = try await postgres.queryUnlessClosed("""
                SELECT id::text, org_id, state::text FROM sync_runs WHERE state NOT IN ('completed', 'failed') ORDER BY created_at LIMIT \(limit)
                """, logger: logger)
            for (id, org, state) in try open.decode((String, String, String).self) {
                violations.append(.init(invariant: .noLostRuns, detail: "run \(id) of org \(org) is still \(state)"))
            }
        }
        for kind in CanonicalKind.allCases {
            let unlinked = try await postgres.queryUnlessClosed(PostgresQuery(unsafeSQL: """
                SELECT t.org_id, t.id::text FROM \(kind.table) t
                WHERE NOT EXISTS (SELECT 1 FROM external_links l WHERE l.org_id = t.org_id AND l.internal_id = t.id)
                LIMIT \(limit)
                """), logger: logger)
            for (org, id) in try unlinked.decode((String, String).self) {
                violations.append(.init(invariant: .exactlyOnce, detail: "\(kind.table) row \(id) of org \(org) is named by no external link (a duplicate)"))
            }
        }
        let doubleLinked = try await postgres.queryUnlessClosed("""
            SELECT org_id, internal_id::text, count(*)::int FROM external_links GROUP BY org_id, internal_id HAVING count(*) > 1 LIMIT \(limit)
            """, logger: logger)
        for (org, id, count) in try doubleLinked.decode((String, String, Int).self) {
            violations.append(.init(invariant: .exactlyOnce, detail: "internal id \(id) of org \(org) is linked from \(count) external records"))
        }
        return violations
    }
}
