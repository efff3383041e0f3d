@testable import SyncCore

/// A seeded simulation of a small cluster: each node runs `MembershipView`, `ShardOwnership` and
/// `LeaderElection` exactly as the shell would, against an in-memory Redis (heartbeat keys, leases with
/// TTL) and Postgres (fence epochs, leader term), with random network latency, request timeouts
/// (outcome unknown: executed or not), and chaos: nodes joining, restarting with a new incarnation,
/// leaving gracefully, being killed (-9) or paused (SIGSTOP) past their TTLs.
///
/// Time is one global simulated clock; every node sees it through its own offset, so any comparison
/// of instants across nodes inside the core would break the checks. After every step it checks:
/// - at most one node can write each shard at this instant (`writableEpoch(ofShard:at:)`, paused
///   nodes included), and at most one running node's shell is writing it;
/// - every running writer's epoch is the shard's current fence epoch (nobody was fenced out while it
///   still believed it could write);
/// - fence epochs of successive owners strictly increase; leader terms strictly increase; at most one
///   leader at any instant, and at most one running orchestrator, under the current term;
/// - 2 x lease TTL after a node is killed (out of a settled cluster), every shard is owned again, by
///   its rendezvous owner, and there is a leader; and the cluster settles at the end.
struct ClusterSimulation {
    struct Configuration {
        var shardCount = 32
        var timings = LeaseTimings(ttlMilliseconds: 3_000, renewIntervalMilliseconds: 1_000, safetyMarginMilliseconds: 300)
        var memberTTL: Int64 = 2_000
        var heartbeatInterval: Int64 = 500
        var snapshotInterval: Int64 = 500
        var tickInterval: Int64 = 100
        var step: Int64 = 10
        var maximumLatency: Int64 = 40
        var requestTimeout: Int64 = 200
        /// Percent of requests that time out (half of those still execute at the server).
        var timeoutPercent: UInt64 = 3
        var initialNodes = 3
        var maximumNodes = 5
        var duration: Int64 = 150_000
        /// No chaos in this last stretch, so the cluster must settle.
        var quietEnd: Int64 = 15_000
    }

    struct Statistics: CustomStringConvertible {
        var kills = 0, pauses = 0, joins = 0, restarts = 0, gracefulStops = 0
        var takeovers = 0, leaderTerms = 0, timeouts = 0, livenessChecks = 0

        var description: String {
            "kills \(kills), pauses \(pauses), joins \(joins), restarts \(restarts), graceful stops \(gracefulStops), "
                + "shard takeovers \(takeovers), leader terms \(leaderTerms), request timeouts \(timeouts), liveness checks \(livenessChecks)"
        }
    }

    /// The leader key's target number; shards are 0...
    static let leaderKey = -1

    enum ServerOperation {
        case acquire(Int)
        case renew([Int])
        case release(Int)
        case bumpFence(Int)
        case beginTerm
    }

    enum Reply {
        case leaseAcquired(Int, sentAt: ClusterInstant)
        case leaseRefused(Int)
        case leaseRenewed(Int, sentAt: ClusterInstant)
        case leaseRenewRefused(Int)
        case leaseRequestFailed(Int)
        case leaseReleased(Int)
        case fenceBumped(Int, epoch: Int64)
        case fenceBumpFailed(Int)
        case termBegun(Int64)
        case termBeginFailed
        case workflowsIdle(Int)
    }

    enum Work {
        /// A request reaching the server; `answered` false when the sender already got a timeout.
        case atServer(ServerOperation, sentAt: ClusterInstant, token: String, answered: Bool)
        case deliver(Reply)
    }

    struct Pending {
        var at: Int64
        var sequence: Int
        var node: Int
        var incarnation: Int64
        var work: Work
    }

    struct Node {
        let id: String
        let incarnation: Int64
        let offset: Int64
        var alive = true
        var pausedUntil: Int64?
        var stopping = false
        var ownership: ShardOwnership
        var election: LeaderElection
        var view: MembershipView
        var lastLive: [String] = []
        var nextTick: Int64
        var nextHeartbeat: Int64
        var nextSnapshot: Int64
        /// What the shell's workflows are doing: shard -> epoch they write under.
        var writing: [Int: Int64] = [:]
        /// The term the shell's orchestrator runs under, if it runs.
        var leadingTerm: Int64?
        var info: MemberInfo

        var token: String { "\(id)#\(incarnation)" }
        var running: Bool { alive && pausedUntil == nil }
    }

    let configuration: Configuration
    var generator: SplitMix64
    var now: Int64 = 0
    var sequence = 0
    var nodes: [Node] = []
    var pending: [Pending] = []
    var redis = FakeLeaseTable()
    var heartbeats: [String: (info: MemberInfo, expiresAt: Int64)] = [:]
    var fences = FakeFenceTable()
    var term: Int64 = 0
    var lastStart: [Int: (token: String, epoch: Int64)] = [:]
    var lastTerm: Int64 = 0
    var violations: [String] = []
    var statistics = Statistics()
    var nextChaosAt: Int64 = 5_000
    var killWanted = false
    var livenessCheckAt: Int64?
    var idCounter = 0
    /// Something happened in this step. Between events, time passing can only end a lease's validity,
    /// which never adds a writer, so the checks run after steps with events only.
    var eventsHappened = false

    init(seed: UInt64, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        generator = SplitMix64(seed: seed)
    }

    // MARK: Running

    mutating func run() {
        for _ in 0..<configuration.initialNodes { startNode(id: freshID()) }
        while now < configuration.duration {
            now += configuration.step
            for node in nodes.indices where nodes[node].alive {
                if let until = nodes[node].pausedUntil, until <= now {
                    nodes[node].pausedUntil = nil
                    eventsHappened = true
                }
            }
            processPending()
            for node in nodes.indices where nodes[node].running && now >= nodes[node].nextTick { tick(node) }
            chaos()
            if eventsHappened { checkInvariants() }
            eventsHappened = false
            if let checkAt = livenessCheckAt, now >= checkAt {
                livenessCheckAt = nil
                statistics.livenessChecks += 1
                if let problem = unsettled() { violation("2 x TTL after a kill the cluster is not settled: \(problem)") }
            }
        }
        if let problem = unsettled() { violation("at the end, after \(configuration.quietEnd) ms without chaos: \(problem)") }
    }

    private mutating func random(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(generator.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    private mutating func violation(_ text: String) {
        if violations.count < 20 { violations.append("t=\(now): \(text)") }
    }

    private func local(_ node: Int) -> ClusterInstant {
        ClusterInstant(milliseconds: now + nodes[node].offset)
    }

    private static func key(_ target: Int) -> String {
        target == leaderKey ? "leader" : "shard/\(target)"
    }

    // MARK: Nodes

    private mutating func freshID() -> String {
        idCounter += 1
        return "node-\(idCounter)"
    }

    private mutating func startNode(id: String) {
        let incarnation = max(now, (nodes.filter { $0.id == id }.map(\.incarnation).max() ?? -1) + 1)
        let info = MemberInfo(nodeID: id, incarnation: incarnation, clusterHost: "10.0.0.\(idCounter)", clusterPort: 7_000, adminURL: "http://\(id):8080")
        let node = Node(
            id: id, incarnation: incarnation, offset: random(-1_000_000...1_000_000),
            ownership: ShardOwnership(nodeID: id, shardCount: configuration.shardCount, lease: configuration.timings),
            election: LeaderElection(lease: configuration.timings),
            view: MembershipView(memberTTLMilliseconds: configuration.memberTTL),
            nextTick: now, nextHeartbeat: now, nextSnapshot: now, info: info
        )
        if let old = nodes.firstIndex(where: { $0.id == id }) { nodes[old] = node } else { nodes.append(node) }
        let index = nodes.firstIndex { $0.id == id }!
        // Register the heartbeat key, then announce the join (a scan must find the key).
        heartbeats[id] = (info, now + configuration.memberTTL)
        for other in nodes.indices where other != index && nodes[other].running {
            let changes = nodes[other].view.joinAnnounced(info, at: local(other))
            if !changes.isEmpty { membershipMayHaveChanged(other) }
        }
        handleElection(index, nodes[index].election.leadershipWanted(now: local(index)))
        tick(index)
    }

    private mutating func tick(_ node: Int) {
        eventsHappened = true
        let local = local(node)
        if now >= nodes[node].nextHeartbeat {
            heartbeats[nodes[node].id] = (nodes[node].info, now + configuration.memberTTL)
            nodes[node].nextHeartbeat = now + configuration.heartbeatInterval
        }
        if now >= nodes[node].nextSnapshot {
            let scan = heartbeats.keys.sorted().compactMap { id in heartbeats[id]!.expiresAt > now ? heartbeats[id]!.info : nil }
            _ = nodes[node].view.snapshotTaken(scan, at: local)
            nodes[node].nextSnapshot = now + configuration.snapshotInterval
        }
        _ = nodes[node].view.clockTicked(local)
        membershipMayHaveChanged(node)
        handle(node, nodes[node].ownership.clockTicked(local))
        handleElection(node, nodes[node].election.clockTicked(local))
        nodes[node].nextTick = now + configuration.tickInterval
        if nodes[node].stopping && nodes[node].ownership.isIdle && nodes[node].election.isIdle { leave(node) }
    }

    private mutating func membershipMayHaveChanged(_ node: Int) {
        let live = nodes[node].view.liveNodeIDs
        guard live != nodes[node].lastLive else { return }
        nodes[node].lastLive = live
        handle(node, nodes[node].ownership.membersChanged(live, now: local(node)))
    }

    /// A graceful stop completed: delete the heartbeat key, announce the leave, exit.
    private mutating func leave(_ node: Int) {
        heartbeats[nodes[node].id] = nil
        nodes[node].alive = false
        for other in nodes.indices where nodes[other].running {
            _ = nodes[other].view.leaveAnnounced(nodeID: nodes[node].id, incarnation: nodes[node].incarnation, at: local(other))
            membershipMayHaveChanged(other)
        }
    }

    // MARK: The shell: carrying out actions

    private mutating func handle(_ node: Int, _ actions: [ShardOwnership.Action]) {
        for action in actions {
            switch action {
            case .acquireLease(let shard):
                send(node, .acquire(shard))
            case .renewLeases(let shards):
                send(node, .renew(shards))
            case .bumpFence(let shard):
                send(node, .bumpFence(shard))
            case .releaseLease(let shard, _):
                send(node, .release(shard))
            case .startWriting(let shard, let epoch):
                let token = nodes[node].token
                if let last = lastStart[shard], !(epoch > last.epoch || (epoch == last.epoch && last.token == token)) {
                    violation("shard \(shard): \(token) starts writing at epoch \(epoch) after \(last.token) at \(last.epoch)")
                }
                if lastStart[shard]?.token != token || lastStart[shard]?.epoch != epoch { statistics.takeovers += 1 }
                lastStart[shard] = (token, epoch)
                nodes[node].writing[shard] = epoch
            case .stopStartingWork(let shard):
                // The page in flight finishes in a while; until then the workflow still writes.
                schedule(node, .deliver(.workflowsIdle(shard)), at: now + random(0...300))
            case .stopWriting(let shard, _):
                nodes[node].writing[shard] = nil
                schedule(node, .deliver(.workflowsIdle(shard)), at: now + random(0...50))
            }
        }
    }

    private mutating func handleElection(_ node: Int, _ actions: [LeaderElection.Action]) {
        for action in actions {
            switch action {
            case .acquireLease: send(node, .acquire(Self.leaderKey))
            case .renewLease: send(node, .renew([Self.leaderKey]))
            case .releaseLease: send(node, .release(Self.leaderKey))
            case .beginTerm: send(node, .beginTerm)
            case .startLeading(let term):
                if term <= lastTerm { violation("\(nodes[node].token) leads under term \(term) after term \(lastTerm)") }
                lastTerm = max(lastTerm, term)
                statistics.leaderTerms += 1
                nodes[node].leadingTerm = term
            case .stopLeading:
                nodes[node].leadingTerm = nil
            }
        }
    }

    private mutating func send(_ node: Int, _ operation: ServerOperation) {
        let sentAt = local(node)
        let token = nodes[node].token
        let arrival = now + random(1...configuration.maximumLatency)
        guard generator.next() % 100 >= configuration.timeoutPercent else {
            // Timed out: the shell reports a failure; the request may or may not have executed.
            statistics.timeouts += 1
            if generator.next() % 2 == 0 {
                schedule(node, .atServer(operation, sentAt: sentAt, token: token, answered: false), at: arrival)
            }
            for failure in Self.failures(of: operation) {
                schedule(node, .deliver(failure), at: now + configuration.requestTimeout)
            }
            return
        }
        schedule(node, .atServer(operation, sentAt: sentAt, token: token, answered: true), at: arrival)
    }

    private static func failures(of operation: ServerOperation) -> [Reply] {
        switch operation {
        case .acquire(let target), .release(let target): [.leaseRequestFailed(target)]
        case .renew(let targets): targets.map { .leaseRequestFailed($0) }
        case .bumpFence(let shard): [.fenceBumpFailed(shard)]
        case .beginTerm: [.termBeginFailed]
        }
    }

    private mutating func schedule(_ node: Int, _ work: Work, at time: Int64) {
        sequence += 1
        pending.append(Pending(at: time, sequence: sequence, node: node, incarnation: nodes[node].incarnation, work: work))
    }

    // MARK: Servers and network

    private mutating func processPending() {
        while let next = pending.indices.filter({ pending[$0].at <= now }).min(by: {
            (pending[$0].at, pending[$0].sequence) < (pending[$1].at, pending[$1].sequence)
        }) {
            let item = pending.remove(at: next)
            eventsHappened = true
            switch item.work {
            case .atServer(let operation, let sentAt, let token, let answered):
                let replies = execute(operation, sentAt: sentAt, token: token)
                guard answered else { continue }
                let arrival = now + random(1...configuration.maximumLatency)
                for reply in replies {
                    sequence += 1
                    pending.append(Pending(at: arrival, sequence: sequence, node: item.node, incarnation: item.incarnation, work: .deliver(reply)))
                }
            case .deliver(let reply):
                let node = item.node
                guard nodes[node].alive, nodes[node].incarnation == item.incarnation else { continue } // the process is gone
                if let until = nodes[node].pausedUntil {
                    var deferred = item
                    deferred.at = until
                    pending.append(deferred)
                    continue
                }
                deliver(reply, to: node)
            }
        }
    }

    private mutating func execute(_ operation: ServerOperation, sentAt: ClusterInstant, token: String) -> [Reply] {
        let ttl = configuration.timings.ttlMilliseconds
        switch operation {
        case .acquire(let target):
            return [redis.acquire(Self.key(target), token: token, ttl: ttl, now: now) ? .leaseAcquired(target, sentAt: sentAt) : .leaseRefused(target)]
        case .renew(let targets):
            return targets.map { redis.renew(Self.key($0), token: token, ttl: ttl, now: now) ? .leaseRenewed($0, sentAt: sentAt) : .leaseRenewRefused($0) }
        case .release(let target):
            redis.release(Self.key(target), token: token, now: now)
            return [.leaseReleased(target)]
        case .bumpFence(let shard):
            return [.fenceBumped(shard, epoch: fences.bump(shard))]
        case .beginTerm:
            term += 1
            return [.termBegun(term)]
        }
    }

    private mutating func deliver(_ reply: Reply, to node: Int) {
        let local = local(node)
        let leader = Self.leaderKey
        switch reply {
        case .leaseAcquired(leader, let sentAt): handleElection(node, nodes[node].election.leaseAcquired(sentAt: sentAt))
        case .leaseRefused(leader): handleElection(node, nodes[node].election.leaseRefused(now: local))
        case .leaseRenewed(leader, let sentAt): handleElection(node, nodes[node].election.leaseRenewed(sentAt: sentAt))
        case .leaseRenewRefused(leader): handleElection(node, nodes[node].election.leaseRenewRefused(now: local))
        case .leaseRequestFailed(leader): handleElection(node, nodes[node].election.leaseRequestFailed(now: local))
        case .leaseReleased(leader): handleElection(node, nodes[node].election.leaseReleased())
        case .termBegun(let term): handleElection(node, nodes[node].election.termBegun(term))
        case .termBeginFailed: handleElection(node, nodes[node].election.termBeginFailed(now: local))
        case .leaseAcquired(let shard, let sentAt): handle(node, nodes[node].ownership.leaseAcquired(shard, sentAt: sentAt))
        case .leaseRefused(let shard): handle(node, nodes[node].ownership.leaseRefused(shard, now: local))
        case .leaseRenewed(let shard, let sentAt): handle(node, nodes[node].ownership.leaseRenewed(shard, sentAt: sentAt))
        case .leaseRenewRefused(let shard): handle(node, nodes[node].ownership.leaseRenewRefused(shard, now: local))
        case .leaseRequestFailed(let shard): handle(node, nodes[node].ownership.leaseRequestFailed(shard, now: local))
        case .leaseReleased(let shard): handle(node, nodes[node].ownership.leaseReleased(shard))
        case .fenceBumped(let shard, let epoch): handle(node, nodes[node].ownership.fenceBumped(shard, epoch: epoch))
        case .fenceBumpFailed(let shard): handle(node, nodes[node].ownership.fenceBumpFailed(shard, now: local))
        case .workflowsIdle(let shard):
            if case .owned = nodes[node].ownership.state(ofShard: shard) {} else { nodes[node].writing[shard] = nil }
            handle(node, nodes[node].ownership.workflowsIdle(shard))
        }
    }

    // MARK: Chaos

    private mutating func chaos() {
        guard now < configuration.duration - configuration.quietEnd else { return }
        if killWanted {
            // A kill is only meaningful out of a settled cluster: then 2 x TTL later it must be settled again.
            guard now % configuration.tickInterval == 0, unsettled() == nil else { return }
            killWanted = false
            let candidates = nodes.indices.filter { nodes[$0].running }
            let victim = candidates[Int(generator.next() % UInt64(candidates.count))]
            nodes[victim].alive = false
            eventsHappened = true
            statistics.kills += 1
            livenessCheckAt = now + 2 * configuration.timings.ttlMilliseconds
            nextChaosAt = livenessCheckAt! + 1
            return
        }
        guard now >= nextChaosAt else { return }
        nextChaosAt = now + random(1_000...5_000)
        let alive = nodes.indices.filter { nodes[$0].alive }
        let running = alive.filter { nodes[$0].running && !nodes[$0].stopping }
        switch generator.next() % 100 {
        case 0..<25 where running.count >= 2:
            killWanted = true
        case 25..<50 where running.count >= 2:
            let victim = running[Int(generator.next() % UInt64(running.count))]
            nodes[victim].pausedUntil = now + random(300...6_000)
            eventsHappened = true
            statistics.pauses += 1
        case 50..<70 where alive.count < configuration.maximumNodes:
            startNode(id: freshID())
            statistics.joins += 1
        case 70..<85 where alive.count < configuration.maximumNodes:
            let dead = Set(nodes.filter { !$0.alive }.map(\.id)).subtracting(alive.map { nodes[$0].id }).sorted()
            guard !dead.isEmpty else { return }
            startNode(id: dead[Int(generator.next() % UInt64(dead.count))])
            statistics.restarts += 1
        case 85..<100 where running.count >= 2:
            let victim = running[Int(generator.next() % UInt64(running.count))]
            nodes[victim].stopping = true
            eventsHappened = true
            handle(victim, nodes[victim].ownership.shutdownRequested(now: local(victim)))
            handleElection(victim, nodes[victim].election.shutdownRequested(now: local(victim)))
            statistics.gracefulStops += 1
        default:
            break
        }
    }

    // MARK: Checks

    private mutating func checkInvariants() {
        var owners = Array(repeating: [String](), count: configuration.shardCount)
        var writers = Array(repeating: [String](), count: configuration.shardCount)
        var leaders: [String] = []
        var orchestrators: [String] = []
        for node in nodes.indices where nodes[node].alive {
            let local = local(node)
            let token = nodes[node].token
            for shard in nodes[node].ownership.writableShards(at: local).keys { owners[shard].append(token) }
            if nodes[node].running {
                for (shard, epoch) in nodes[node].writing {
                    writers[shard].append(token)
                    if epoch != fences.epoch(shard) {
                        violation("\(token) writes shard \(shard) at epoch \(epoch), the fence is at \(fences.epoch(shard))")
                    }
                }
            }
            if nodes[node].election.isLeading(at: local) { leaders.append(token) }
            if nodes[node].running, let leading = nodes[node].leadingTerm {
                orchestrators.append(token)
                if leading != term { violation("\(token) orchestrates under term \(leading), the term is \(term)") }
            }
        }
        if orchestrators.count > 1 { violation("orchestrators running on \(orchestrators)") }
        for shard in 0..<configuration.shardCount {
            if owners[shard].count > 1 { violation("shard \(shard) writable on \(owners[shard])") }
            if writers[shard].count > 1 { violation("shard \(shard) written by \(writers[shard])") }
        }
        if leaders.count > 1 { violation("leaders \(leaders)") }
    }

    /// Nil when the cluster is settled: no pause or stop in progress, every view agrees on the live
    /// nodes, every shard is writable by exactly its rendezvous owner, and there is one leader.
    func unsettled() -> String? {
        let alive = nodes.indices.filter { nodes[$0].alive }
        if let paused = alive.first(where: { nodes[$0].pausedUntil != nil || nodes[$0].stopping }) {
            return "\(nodes[paused].token) is paused or stopping"
        }
        let ids = alive.map { nodes[$0].id }.sorted()
        for node in alive where nodes[node].view.liveNodeIDs != ids {
            return "\(nodes[node].token) sees \(nodes[node].view.liveNodeIDs), alive are \(ids)"
        }
        let assignment = RendezvousHashing.assignment(shardCount: configuration.shardCount, members: ids)
        let owned = alive.map { (id: nodes[$0].id, shards: nodes[$0].ownership.writableShards(at: local($0))) }
        for shard in 0..<configuration.shardCount {
            let owners = owned.filter { $0.shards[shard] != nil }.map(\.id)
            if owners != [assignment[shard]!] { return "shard \(shard) writable on \(owners), should be \(assignment[shard]!)" }
        }
        let leaders = alive.filter { nodes[$0].election.isLeading(at: local($0)) }
        if leaders.count != 1 { return "\(leaders.count) leaders" }
        return nil
    }
}
