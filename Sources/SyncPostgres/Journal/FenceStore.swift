import Logging
import PostgresNIO

/// Shard fence epochs and leader terms in Postgres: the authority that the Redis leases only advise.
public struct FenceStore: Sendable {
    public let client: PostgresClient
    public var logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Takes a shard: bumps its epoch and records the owner. The UPDATE waits for every in-flight
    /// write of the previous owner (they hold the row FOR SHARE), and every later one sees the new
    /// epoch and fails: a paused or partitioned former owner can never commit.
    public func acquireShard(_ shard: Int, owner: String) async throws -> Int64 {
        let rows = try await client.queryUnlessClosed("""
            INSERT INTO shard_fences (shard, epoch, owner) VALUES (\(shard), 1, \(owner))
            ON CONFLICT (shard) DO UPDATE SET epoch = shard_fences.epoch + 1, owner = excluded.owner, updated_at = now()
            RETURNING epoch
            """, logger: logger)
        for epoch in try rows.decode(Int64.self) { return epoch }
        preconditionFailure("shard fence upsert returned no row for shard \(shard)")
    }

    /// Clears the owner of a shard released on purpose; the epoch stays, so the next taker bumps it.
    public func releaseShard(_ shard: Int, owner: String, epoch: Int64) async throws {
        try await client.queryUnlessClosed("""
            UPDATE shard_fences SET owner = NULL, updated_at = now()
            WHERE shard = \(shard) AND owner = \(owner) AND epoch = \(epoch)
            """, logger: logger)
    }

    /// Every shard that was ever taken: its epoch and current owner (nil when released).
    public func shards() async throws -> [(shard: Int, epoch: Int64, owner: String?)] {
        let rows = try await client.queryUnlessClosed("SELECT shard, epoch, owner FROM shard_fences ORDER BY shard", logger: logger)
        var result: [(shard: Int, epoch: Int64, owner: String?)] = []
        for (shard, epoch, owner) in try rows.decode((Int, Int64, String?).self) {
            result.append((shard, epoch, owner))
        }
        return result
    }

    /// The current leader term and who began it.
    public func leaderTerm() async throws -> (term: Int64, leader: String?)? {
        let rows = try await client.queryUnlessClosed("SELECT term, leader FROM leader_terms", logger: logger)
        for (term, leader) in try rows.decode((Int64, String?).self) { return (term, leader) }
        return nil
    }

    /// Starts a new leadership term.
    public func beginLeaderTerm(leader: String) async throws -> Int64 {
        let rows = try await client.queryUnlessClosed("""
            UPDATE leader_terms SET term = term + 1, leader = \(leader), updated_at = now() RETURNING term
            """, logger: logger)
        for term in try rows.decode(Int64.self) { return term }
        preconditionFailure("leader_terms has no row: migrations not applied?")
    }

    /// Checks the fence inside the caller's transaction, locking the row FOR SHARE until commit so a
    /// takeover waits for this transaction. Throws `ownershipLost` when the fence moved on.
    static func check(_ fence: WriteFence, on connection: PostgresConnection, workflowID: String, step: Int?, logger: Logger) async throws {
        let current: Int64?
        switch fence {
        case .shard(let shard, _):
            current = try await connection.queryUnlessClosed(
                "SELECT epoch FROM shard_fences WHERE shard = \(shard) FOR SHARE", logger: logger
            ).decode(Int64.self).first { _ in true }
        case .leader:
            current = try await connection.queryUnlessClosed(
                "SELECT term FROM leader_terms FOR SHARE", logger: logger
            ).decode(Int64.self).first { _ in true }
        }
        let expected: Int64
        switch fence {
        case .shard(_, let epoch): expected = epoch
        case .leader(let term): expected = term
        }
        guard current == expected else {
            throw JournalError(code: .ownershipLost, workflowID: workflowID, step: step,
                               detail: "stale \(fence): the current value is \(current.map(String.init) ?? "none")")
        }
    }
}
