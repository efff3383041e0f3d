import Foundation
import PostgresNIO
import SyncCore
import SyncPostgres
import SyncTestSupport
import Testing

/// The cluster end to end: real node processes sharing a Postgres, a Redis of the test's own and
/// the simulator; nodes killed, frozen, added, and Redis restarted in the middle of syncs.
@Suite("Cluster end to end", .serialized)
struct ClusterTests {
    static let shards = ShardMap(shardCount: 64)

    final class Cluster: @unchecked Sendable {
        let database: TemporaryDatabase
        let simulatorURL: String
        let tokenKey: String
        let redis: RedisServer
        let clusterID = "test-\(UUID().uuidString.prefix(8).lowercased())"
        let secret = "test-secret-\(UUID().uuidString)"
        let orgs: [String]
        var nodeEnvironment: [String: String] = [:]
        private let lock = NSLock()
        private var nodes: [String: (process: ChildProcess, admin: String)] = [:]

        init(database: TemporaryDatabase, simulatorURL: String, tokenKey: String, redis: RedisServer, orgs: [String]) {
            self.database = database
            self.simulatorURL = simulatorURL
            self.tokenKey = tokenKey
            self.redis = redis
            self.orgs = orgs
        }

        var environment: [String: String] {
            var env = ["SYNC_REDIS_URL": redis.url, "SYNC_CLUSTER_SECRET": secret, "SYNC_CLUSTER_ID": clusterID,
                       "SYNC_LEASE_TTL_MS": "1200", "SYNC_RENEW_INTERVAL_MS": "150"]
            for (key, value) in nodeEnvironment { env[key] = value }
            return env
        }

        func start(_ name: String) async throws {
            let (process, admin) = try await EngineHarness.startNode(database: database.url, tokenKey: tokenKey, nodeID: name,
                                                                     environment: environment)
            lock.withLock { nodes[name] = (process, admin) }
        }

        func node(_ name: String) -> ChildProcess? { lock.withLock { nodes[name]?.process } }
        var liveAdmins: [String] { lock.withLock { nodes.values.filter { $0.process.isRunning }.map(\.admin) } }

        func killAll() { for node in lock.withLock({ Array(nodes.values) }) { node.process.signal(SIGCONT); node.process.kill() } }

        func logs() -> String {
            lock.withLock { nodes.sorted { $0.key < $1.key }.map { "--- \($0.key)\n\($0.value.process.logTail(lines: 15))" }.joined(separator: "\n") }
        }

        func query<Row: PostgresDecodable & Sendable>(_ sql: String, as type: Row.Type) async throws -> [Row] {
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            var rows: [Row] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestServices.logger).decode(Row.self) {
                rows.append(row)
            }
            return rows
        }

        func owner(ofOrg org: String) async throws -> String? {
            try await query("SELECT coalesce(owner, '') FROM shard_fences WHERE shard = \(ClusterTests.shards.shard(ofOrg: org))",
                            as: String.self).first.flatMap { $0.isEmpty ? nil : $0 }
        }

        func epoch(ofOrg org: String) async throws -> Int64 {
            try await query("SELECT epoch FROM shard_fences WHERE shard = \(ClusterTests.shards.shard(ofOrg: org))", as: Int64.self).first ?? 0
        }

        func leader() async throws -> String? { try await query("SELECT coalesce(leader, '') FROM leader_terms", as: String.self).first }

        func owners() async throws -> [Int: String] {
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            var result: [Int: String] = [:]
            for try await (shard, owner) in try await connection.query("SELECT shard, owner FROM shard_fences WHERE owner IS NOT NULL",
                                                                       logger: TestServices.logger).decode((Int, String).self) {
                result[shard] = owner
            }
            return result
        }

        /// Until every shard has an owner among `members` and a leader term began.
        func waitUntilSettled(members: Set<String>, timeout: Duration = .seconds(60)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let owners = try await owners()
                if owners.count == 64, Set(owners.values) == members, let leader = try await leader(), members.contains(leader) { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw ChildProcessError(name: "cluster", detail: "shards not settled on \(members.sorted()) after \(timeout): \(try await owners().count) owned\n\(logs())")
        }

        func startSync(org: String) async throws -> UUID {
            let admin = try #require(liveAdmins.first)
            let (status, body) = try await EngineHarness.post("\(admin)/v1/orgs/\(org)/syncs", json: #"{"strategy":"full"}"#)
            #expect(status == 201, "\(String(decoding: body, as: UTF8.self))")
            struct Accepted: Decodable { var run_id: UUID }
            return try JSONDecoder().decode(Accepted.self, from: body).run_id
        }

        func committedSteps(run: UUID) async throws -> Int {
            try await query("SELECT count(*)::int FROM workflow_steps WHERE run_id = '\(run)' AND kind = 'page'", as: Int.self).first ?? 0
        }

        func waitForSteps(run: UUID, atLeast count: Int, timeout: Duration = .seconds(120)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if try await committedSteps(run: run) >= count { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ChildProcessError(name: "run \(run)", detail: "fewer than \(count) page steps after \(timeout)\n\(logs())")
        }

        func waitForRuns(_ runs: [UUID], timeout: Duration = .seconds(300)) async throws -> [String] {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                var states: [String] = []
                for run in runs {
                    states.append(try await query("SELECT state::text FROM sync_runs WHERE id = '\(run)'", as: String.self).first ?? "?")
                }
                if states.allSatisfy({ $0 == "completed" || $0 == "failed" }) { return states }
                try await Task.sleep(for: .milliseconds(250))
            }
            throw ChildProcessError(name: "runs", detail: "not finished after \(timeout)\n\(logs())")
        }

        /// `syncengine verify` for one org: its canonical rows equal the simulator's data set.
        func verify(org: String) async throws -> (Bool, String) {
            let result = try await ProcessRunner.run(try TestServices.engineBinary(), [
                "verify", "--postgres", database.url.description, "--sim-url", simulatorURL, "--org", org,
            ], environment: ["SYNC_TOKEN_KEY": tokenKey])
            return (result.status == 0, result.stdout + result.stderr)
        }

        /// Page steps committed twice would violate the journal's primary key; this checks the
        /// canonical side: no external id linked twice.
        func duplicateLinks() async throws -> Int {
            try await query("""
                SELECT count(*)::int FROM (SELECT 1 FROM external_links GROUP BY org_id, adapter, external_type, external_id HAVING count(*) > 1) d
                """, as: Int.self).first ?? 0
        }
    }

    static func withCluster(orgs: Int, people: Int, nodes: Int, nodeEnvironment: [String: String] = [:],
                            _ body: (Cluster) async throws -> Void) async throws {
        try await TemporaryDatabase.withMigrated(prefix: "cluster") { database in
            let (simulator, url) = try await EngineHarness.startSimulator(orgs: orgs, people: people, extra: ["--rate-limit", "100000/1"])
            defer { simulator.kill() }
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let key = EngineHarness.tokenKey()
            try await EngineHarness.engine(["org", "import-sim", "--postgres", database.url.description, "--sim-url", url],
                                           environment: ["SYNC_TOKEN_KEY": key])
            let cluster = Cluster(database: database, simulatorURL: url, tokenKey: key, redis: redis, orgs: (1...orgs).map(String.init))
            cluster.nodeEnvironment = nodeEnvironment
            defer { cluster.killAll() }
            for index in 1...nodes { try await cluster.start("node-\(index)") }
            try await cluster.waitUntilSettled(members: Set((1...nodes).map { "node-\($0)" }))
            try await body(cluster)
        }
    }

    static func expectConverged(_ cluster: Cluster, runs: [UUID]) async throws {
        let states = try await cluster.waitForRuns(runs)
        #expect(states.allSatisfy { $0 == "completed" }, "run states \(states)\n\(cluster.logs())")
        for org in cluster.orgs {
            let (equal, report) = try await cluster.verify(org: org)
            #expect(equal, "org \(org): \(report)")
        }
        #expect(try await cluster.duplicateLinks() == 0)
    }

    @Test("kill -9 the owner of a syncing org: its run completes and every org equals the source")
    func killOwner() async throws {
        try await Self.withCluster(orgs: 3, people: 1200, nodes: 3) { cluster in
            let runs = try await cluster.orgs.asyncMap { try await cluster.startSync(org: $0) }
            try await cluster.waitForSteps(run: runs[0], atLeast: 8)
            let owner = try #require(try await cluster.owner(ofOrg: "1"))
            let epochBefore = try await cluster.epoch(ofOrg: "1")
            cluster.node(owner)?.kill()
            try await Self.expectConverged(cluster, runs: runs)
            let newOwner = try await cluster.owner(ofOrg: "1")
            #expect(newOwner != nil && newOwner != owner, "the shard moved off the killed node")
            #expect(try await cluster.epoch(ofOrg: "1") > epochBefore, "the takeover bumped the fence epoch")

            // Every live node serves Prometheus metrics; across them the work shows up.
            var totals: [String: Double] = [:]
            for admin in cluster.liveAdmins {
                let (status, body) = try await EngineHarness.get("\(admin)/metrics")
                #expect(status == 200)
                for (name, value) in try Self.parsePrometheus(String(decoding: body, as: UTF8.self)) { totals[name, default: 0] += value }
            }
            #expect(totals["sync_pages_committed_total", default: 0] > 0, "\(totals.keys.sorted())")
            #expect(totals["sync_rows_written_total", default: 0] > 0)
            #expect(totals["sync_shard_lease_acquisitions_total", default: 0] >= 64, "every shard was taken at least once")
            #expect(totals["sync_transport_handshakes_accepted_total", default: 0] > 0, "the leader dispatched over the transport")
            #expect(totals.keys.contains("sync_transport_handshake_rejects_total"))
            #expect(totals.keys.contains("sync_fence_rejections_total"))
            #expect(totals.keys.contains("sync_shard_lease_losses_total"))
            // Sampled every 2 s from the limiters: after a sync, some node has seen PCO's advertised limit.
            #expect(totals["sync_api_rate_budget_limit", default: 0] > 0, "rate-budget gauges: \(totals.filter { $0.key.hasPrefix("sync_api_rate") })")
            #expect(totals.keys.contains("sync_api_rate_budget_use_ratio"))
        }
    }

    /// Parses the Prometheus text format: every sample line is `name{labels} value`; returns the
    /// sum per metric name (labels folded). Throws on a line that is neither a sample nor a comment.
    static func parsePrometheus(_ text: String) throws -> [String: Double] {
        var sums: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.isEmpty && !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) ?? (parts[parts.count - 1] == "+Inf" ? .infinity : nil) else {
                throw ChildProcessError(name: "metrics", detail: "not a sample line: \(line)")
            }
            let name = parts[0].split(separator: "{").first.map(String.init) ?? String(parts[0])
            sums[name, default: 0] += value
        }
        return sums
    }

    @Test("kill -9 the leader mid-run: a new leader replays the orchestrator journals and the runs complete")
    func killLeader() async throws {
        try await Self.withCluster(orgs: 3, people: 1200, nodes: 3) { cluster in
            let runs = try await cluster.orgs.asyncMap { try await cluster.startSync(org: $0) }
            try await cluster.waitForSteps(run: runs[0], atLeast: 8)
            let leader = try #require(try await cluster.leader())
            let termBefore = try await cluster.query("SELECT term FROM leader_terms", as: Int64.self).first ?? 0
            cluster.node(leader)?.kill()
            try await Self.expectConverged(cluster, runs: runs)
            let newLeader = try await cluster.leader()
            #expect(newLeader != leader, "another node leads")
            #expect(try await cluster.query("SELECT term FROM leader_terms", as: Int64.self).first ?? 0 > termBefore)
        }
    }

    @Test("a fourth node joins mid-run: about a quarter of the shards move to it, and the runs complete")
    func nodeJoins() async throws {
        try await Self.withCluster(orgs: 3, people: 1200, nodes: 3) { cluster in
            let runs = try await cluster.orgs.asyncMap { try await cluster.startSync(org: $0) }
            try await cluster.waitForSteps(run: runs[0], atLeast: 5)
            let before = try await cluster.owners()
            try await cluster.start("node-4")
            try await cluster.waitUntilSettled(members: ["node-1", "node-2", "node-3", "node-4"])
            let after = try await cluster.owners()
            let moved = before.keys.filter { before[$0] != after[$0] }
            #expect((8...26).contains(moved.count), "moved \(moved.count) of 64 shards (expected about 16)")
            #expect(moved.allSatisfy { after[$0] == "node-4" }, "only shards for the new node move")
            try await Self.expectConverged(cluster, runs: runs)
        }
    }

    @Test("SIGSTOP a shard owner past its lease: another node takes over; after SIGCONT its commits are rejected and invisible")
    func frozenOwnerIsFenced() async throws {
        // Every page waits 1 s between its fetch and its commit, so the frozen owner is almost surely
        // holding a fetched page when it resumes, and tries to commit it under its old epoch.
        try await Self.withCluster(orgs: 1, people: 600, nodes: 3, nodeEnvironment: ["SYNC_TEST_COMMIT_DELAY_MS": "1000"]) { cluster in
            let run = try await cluster.startSync(org: "1")
            try await cluster.waitForSteps(run: run, atLeast: 3)
            let owner = try #require(try await cluster.owner(ofOrg: "1"))
            let zombie = try #require(cluster.node(owner))
            let epochBefore = try await cluster.epoch(ofOrg: "1")
            zombie.signal(SIGSTOP)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await cluster.owner(ofOrg: "1") == owner, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            let newEpoch = try await cluster.epoch(ofOrg: "1")
            #expect(newEpoch > epochBefore, "another node took the shard while the owner was frozen")
            try await Task.sleep(for: .seconds(1))
            zombie.signal(SIGCONT)
            try await Self.expectConverged(cluster, runs: [run])
            // Its commits under the old epoch were refused, and none of them made it in.
            let rejections = zombie.log().components(separatedBy: "stale commit rejected by the shard fence").count - 1
            #expect(rejections >= 1, "the resumed owner's commit was rejected\n\(zombie.logTail(lines: 30))")
            let shard = Self.shards.shard(ofOrg: "1")
            // committed_at is each transaction's start; the takeover's UPDATE waited for every
            // transaction holding the old epoch, so none of them may come after a new-epoch step.
            let staleAfterTakeover = try await cluster.query("""
                SELECT count(*)::int FROM workflow_steps WHERE shard = \(shard) AND fence_epoch < \(newEpoch)
                AND committed_at > (SELECT min(committed_at) FROM workflow_steps WHERE shard = \(shard) AND fence_epoch >= \(newEpoch))
                """, as: Int.self).first ?? -1
            #expect(staleAfterTakeover == 0, "no step under the old epoch committed after the new owner's first step")
        }
    }

    @Test("Redis restarts mid-run: nodes reconnect, re-take their leases, and the runs complete")
    func redisRestart() async throws {
        try await Self.withCluster(orgs: 2, people: 1200, nodes: 3) { cluster in
            let runs = try await cluster.orgs.asyncMap { try await cluster.startSync(org: $0) }
            try await cluster.waitForSteps(run: runs[0], atLeast: 5)
            try await cluster.redis.restart()
            try await Self.expectConverged(cluster, runs: runs)
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
