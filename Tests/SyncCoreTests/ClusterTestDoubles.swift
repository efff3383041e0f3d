@testable import SyncCore

/// `ClusterInstant` from milliseconds, to keep the scripted schedules readable.
func at(_ milliseconds: Int64) -> ClusterInstant {
    ClusterInstant(milliseconds: milliseconds)
}

/// The in-test "Redis" for leases: keys holding a token until an expiry on the test's global clock.
/// Acquire is "set if absent or already ours" (with the TTL), renew is compare-and-extend, release is
/// delete-if-ours: the scripts the shell runs.
struct FakeLeaseTable {
    struct Entry: Equatable {
        var token: String
        var expiresAt: Int64
    }

    private(set) var keys: [String: Entry] = [:]

    mutating func acquire(_ key: String, token: String, ttl: Int64, now: Int64) -> Bool {
        if let entry = keys[key], entry.expiresAt > now, entry.token != token { return false }
        keys[key] = Entry(token: token, expiresAt: now + ttl)
        return true
    }

    mutating func renew(_ key: String, token: String, ttl: Int64, now: Int64) -> Bool {
        guard let entry = keys[key], entry.expiresAt > now, entry.token == token else { return false }
        keys[key] = Entry(token: token, expiresAt: now + ttl)
        return true
    }

    mutating func release(_ key: String, token: String, now: Int64) {
        if let entry = keys[key], entry.expiresAt > now, entry.token == token { keys[key] = nil }
    }

    /// Overwrites the key: another holder (or an operator) took it.
    mutating func steal(_ key: String, token: String, ttl: Int64, now: Int64) {
        keys[key] = Entry(token: token, expiresAt: now + ttl)
    }

    func holder(_ key: String, now: Int64) -> String? {
        guard let entry = keys[key], entry.expiresAt > now else { return nil }
        return entry.token
    }

    func expiry(_ key: String) -> Int64? {
        keys[key]?.expiresAt
    }
}

/// The in-test Postgres fence table: one epoch per shard, bumped on every takeover.
struct FakeFenceTable {
    private(set) var epochs: [Int: Int64] = [:]

    mutating func bump(_ shard: Int) -> Int64 {
        let epoch = (epochs[shard] ?? 0) + 1
        epochs[shard] = epoch
        return epoch
    }

    func epoch(_ shard: Int) -> Int64 {
        epochs[shard] ?? 0
    }
}

/// Several `ShardOwnership` nodes against one fake Redis and Postgres with zero latency: every action
/// is carried out at once and its outcome fed straight back. Each node has its own clock offset, so a
/// hidden comparison of instants across nodes would show. Node "pauses" are modelled by not ticking
/// it; a dead node is neither ticked nor counted.
struct ShardCluster {
    struct Node {
        let id: String
        var ownership: ShardOwnership
        var clockOffset: Int64
        var alive = true
        /// Whether its Redis requests get through (false: every lease request fails).
        var redisReachable = true
        /// Reports `workflowsIdle` at once after stopStartingWork/stopWriting; otherwise they wait in
        /// `pendingIdle` until `reportIdle`.
        var autoIdle = true
        var pendingIdle: Set<Int> = []
        var log: [(at: Int64, action: ShardOwnership.Action)] = []

        var token: String { id }
    }

    let timings: LeaseTimings
    let shardCount: Int
    var redis = FakeLeaseTable()
    var fences = FakeFenceTable()
    var nodes: [Node] = []
    var now: Int64 = 0
    /// Per shard, every startWriting in order: (node, epoch).
    var takeovers: [Int: [(node: String, epoch: Int64)]] = [:]
    var violations: [String] = []

    init(shardCount: Int, timings: LeaseTimings) {
        self.shardCount = shardCount
        self.timings = timings
    }

    static func key(_ shard: Int) -> String { "shard/\(shard)" }

    @discardableResult
    mutating func addNode(_ id: String, clockOffset: Int64 = 0) -> Int {
        nodes.append(Node(id: id, ownership: ShardOwnership(nodeID: id, shardCount: shardCount, lease: timings), clockOffset: clockOffset))
        return nodes.count - 1
    }

    func index(_ id: String) -> Int { nodes.firstIndex { $0.id == id }! }

    func local(_ node: Int) -> ClusterInstant { ClusterInstant(milliseconds: now + nodes[node].clockOffset) }

    mutating func membersChanged(_ node: Int, _ live: [String]) {
        let actions = nodes[node].ownership.membersChanged(live, now: local(node))
        run(node, actions)
    }

    mutating func tick(_ node: Int) {
        let actions = nodes[node].ownership.clockTicked(local(node))
        run(node, actions)
    }

    mutating func reportIdle(_ node: Int) {
        for shard in nodes[node].pendingIdle.sorted() {
            nodes[node].pendingIdle.remove(shard)
            run(node, nodes[node].ownership.workflowsIdle(shard))
        }
    }

    /// Advances the global clock in steps, ticking every live node not in `paused`, checking the
    /// single-writer invariant after every step.
    mutating func advance(to end: Int64, step: Int64 = 100, paused: Set<String> = []) {
        while now < end {
            now = min(end, now + step)
            for node in nodes.indices where nodes[node].alive && !paused.contains(nodes[node].id) {
                tick(node)
            }
            checkSingleWriter()
        }
    }

    /// Feeds one event's actions through the fakes until nothing more happens.
    mutating func run(_ node: Int, _ actions: [ShardOwnership.Action]) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            nodes[node].log.append((now, action))
            queue += perform(action, node)
        }
        checkSingleWriter()
    }

    private mutating func perform(_ action: ShardOwnership.Action, _ node: Int) -> [ShardOwnership.Action] {
        let token = nodes[node].token
        let local = local(node)
        switch action {
        case .acquireLease(let shard):
            guard nodes[node].redisReachable else { return nodes[node].ownership.leaseRequestFailed(shard, now: local) }
            if redis.acquire(Self.key(shard), token: token, ttl: timings.ttlMilliseconds, now: now) {
                return nodes[node].ownership.leaseAcquired(shard, sentAt: local)
            }
            return nodes[node].ownership.leaseRefused(shard, now: local)
        case .renewLeases(let shards):
            var next: [ShardOwnership.Action] = []
            for shard in shards {
                if !nodes[node].redisReachable {
                    next += nodes[node].ownership.leaseRequestFailed(shard, now: local)
                } else if redis.renew(Self.key(shard), token: token, ttl: timings.ttlMilliseconds, now: now) {
                    next += nodes[node].ownership.leaseRenewed(shard, sentAt: local)
                } else {
                    next += nodes[node].ownership.leaseRenewRefused(shard, now: local)
                }
            }
            return next
        case .bumpFence(let shard):
            return nodes[node].ownership.fenceBumped(shard, epoch: fences.bump(shard))
        case .startWriting(let shard, let epoch):
            if let last = takeovers[shard]?.last, !(epoch > last.epoch || (epoch == last.epoch && last.node == nodes[node].id)) {
                violations.append("t=\(now) shard \(shard): \(nodes[node].id) starts writing at epoch \(epoch) after \(last.node) at \(last.epoch)")
            }
            takeovers[shard, default: []].append((nodes[node].id, epoch))
            return []
        case .stopStartingWork(let shard), .stopWriting(let shard, _):
            if nodes[node].autoIdle { return nodes[node].ownership.workflowsIdle(shard) }
            nodes[node].pendingIdle.insert(shard)
            return []
        case .releaseLease(let shard, _):
            guard nodes[node].redisReachable else { return nodes[node].ownership.leaseRequestFailed(shard, now: local) }
            redis.release(Self.key(shard), token: token, now: now)
            return nodes[node].ownership.leaseReleased(shard)
        }
    }

    /// At most one node may write a shard at any instant, judged on each node's own clock; and a
    /// writer's epoch is always the shard's current fence epoch.
    mutating func checkSingleWriter() {
        for shard in 0..<shardCount {
            var writers: [String] = []
            for node in nodes.indices where nodes[node].alive {
                guard let epoch = nodes[node].ownership.writableEpoch(ofShard: shard, at: local(node)) else { continue }
                writers.append(nodes[node].id)
                if epoch != fences.epoch(shard) {
                    violations.append("t=\(now) shard \(shard): \(nodes[node].id) writable at epoch \(epoch), fence is at \(fences.epoch(shard))")
                }
            }
            if writers.count > 1 { violations.append("t=\(now) shard \(shard): writable on \(writers)") }
        }
    }

    /// The node that may write the shard now, if any.
    func writer(of shard: Int) -> String? {
        nodes.indices.first { nodes[$0].alive && nodes[$0].ownership.writableEpoch(ofShard: shard, at: local($0)) != nil }.map { nodes[$0].id }
    }
}
