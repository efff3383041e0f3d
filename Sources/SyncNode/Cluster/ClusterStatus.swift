import Foundation
import SyncCore
import SyncPostgres

/// The body of `GET /v1/cluster` (and `syncengine status`): who is in the cluster, who owns which
/// shard under which epoch, and the active runs with their progress.
public struct ClusterStatus: Sendable, Codable {
    public struct Member: Sendable, Codable {
        public var id: String
        public var address: String
        public var adminURL: String
        public var incarnation: Int64
        public var leader: Bool
        enum CodingKeys: String, CodingKey { case id, address, adminURL = "admin_url", incarnation, leader }
    }

    public struct Shard: Sendable, Codable {
        public var shard: Int
        public var epoch: Int64
        public var owner: String?
    }

    public struct ActiveRun: Sendable, Codable {
        public var id: UUID
        public var org: String
        public var strategy: SyncStrategy
        public var state: RunState
        public var entitiesCompleted: Int
        public var entities: Int
        public var pages: Int
        public var rows: Int
        enum CodingKeys: String, CodingKey {
            case id, org, strategy, state, entitiesCompleted = "entities_completed", entities, pages, rows
        }
    }

    /// The node that answered, and whether it runs in a cluster at all.
    public var node: String
    public var clustered: Bool
    public var leader: String?
    public var leaderTerm: Int64?
    public var members: [Member]
    public var shards: [Shard]
    public var runs: [ActiveRun]

    enum CodingKeys: String, CodingKey { case node, clustered, leader, leaderTerm = "leader_term", members, shards, runs }
}

extension SyncEngine {
    public func clusterStatus() async throws -> ClusterStatus {
        let term = try await fences.leaderTerm()
        var members: [ClusterStatus.Member] = []
        var leader = term?.leader
        if let agent = clusterAgent {
            let redisLeader = await agent.currentLeader
            leader = redisLeader ?? leader
            members = await agent.members.map {
                .init(id: $0.nodeID, address: "\($0.clusterHost):\($0.clusterPort)", adminURL: $0.adminURL, incarnation: $0.incarnation,
                      leader: $0.nodeID == redisLeader)
            }
        }
        let shards = try await fences.shards().map { ClusterStatus.Shard(shard: $0.shard, epoch: $0.epoch, owner: $0.owner) }
        var runs: [ClusterStatus.ActiveRun] = []
        for run in try await journal.activeRuns() {
            let status = try await RunStatus.load(run: run, graph: graph, journal: journal, folds: folds)
            runs.append(.init(id: run.id, org: run.orgID, strategy: run.strategy, state: run.state,
                              entitiesCompleted: status.entities.filter { $0.state == .completed }.count, entities: status.entities.count,
                              pages: status.entities.reduce(0) { $0 + $1.pages }, rows: status.entities.reduce(0) { $0 + $1.rows }))
        }
        return ClusterStatus(node: configuration.nodeID, clustered: clusterAgent != nil, leader: leader, leaderTerm: term?.term,
                             members: members, shards: shards, runs: runs)
    }
}
