import Testing
@testable import SyncCore

@Suite("Shard ownership")
struct ShardOwnershipTests {
    /// TTL 3 s, valid 2.7 s after the send, renewed every second, failures retried after 250 ms.
    static let timings = LeaseTimings(ttlMilliseconds: 3_000, renewIntervalMilliseconds: 1_000, safetyMarginMilliseconds: 300)

    @Test("two nodes claiming one shard: never both writable, epochs strictly increase across takeovers")
    func twoClaimants() {
        var cluster = ShardCluster(shardCount: 1, timings: Self.timings)
        // Clocks with unrelated origins: nothing may compare instants across nodes.
        let a = cluster.addNode("A", clockOffset: 1_000_000)
        let b = cluster.addNode("B", clockOffset: -5_000)
        // Split brain: each believes it is alone, so both want shard 0.
        cluster.membersChanged(a, ["A"])
        cluster.membersChanged(b, ["B"])
        #expect(cluster.writer(of: 0) == "A")
        #expect(cluster.nodes[a].ownership.writableEpoch(ofShard: 0) == 1)
        #expect(cluster.nodes[b].ownership.state(ofShard: 0) == .acquiringLease)

        cluster.advance(to: 5_000)
        let attempts = cluster.nodes[b].log.compactMap { entry -> Int64? in
            if case .acquireLease = entry.action { entry.at } else { nil }
        }
        #expect(attempts == [0, 1_000, 2_000, 3_000, 4_000, 5_000], "refused, retried every renew interval")
        #expect(cluster.writer(of: 0) == "A")

        // A is paused (SIGSTOP) right after its renewal at 5_000: no more renewals. Its validity ends at
        // 7_700, the key at 8_000, and B wins it at its next attempt.
        cluster.advance(to: 12_000, paused: ["A"])
        #expect(cluster.writer(of: 0) == "B")
        #expect(cluster.nodes[b].ownership.writableEpoch(ofShard: 0) == 2)
        #expect(cluster.takeovers[0]?.last?.node == "B")
        #expect(cluster.nodes[a].ownership.writableEpoch(ofShard: 0) == 1, "A's frozen state still says epoch 1 ...")
        #expect(cluster.nodes[a].ownership.writableEpoch(ofShard: 0, at: cluster.local(a)) == nil, "... but not at this instant")

        // A resumes: its first tick stops writing at once, then it tries again (refused: B holds it).
        let mark = cluster.nodes[a].log.count
        cluster.tick(a)
        let resumed = cluster.nodes[a].log[mark...].map(\.action)
        #expect(resumed.first == .stopWriting(shard: 0, reason: .leaseLost(.expired(validUntil: at(1_007_700), renewalInFlight: false))))
        #expect(resumed.contains(.acquireLease(shard: 0)))
        #expect(cluster.nodes[a].ownership.state(ofShard: 0) == .acquiringLease)

        cluster.advance(to: 20_000)
        #expect(cluster.writer(of: 0) == "B")
        cluster.advance(to: 30_000, paused: ["B"])
        #expect(cluster.writer(of: 0) == "A")
        #expect(cluster.takeovers[0]?.map(\.node) == ["A", "B", "A"])
        #expect(cluster.takeovers[0]?.map(\.epoch) == [1, 2, 3])
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a third node joins: only the moved shards hand off, and are released only after workflowsIdle")
    func handoffOnJoin() {
        var cluster = ShardCluster(shardCount: 64, timings: Self.timings)
        let a = cluster.addNode("A"), b = cluster.addNode("B", clockOffset: 777)
        cluster.membersChanged(a, ["A", "B"])
        cluster.membersChanged(b, ["A", "B"])
        cluster.advance(to: 3_000)
        let two = RendezvousHashing.assignment(shardCount: 64, members: ["A", "B"])
        let three = RendezvousHashing.assignment(shardCount: 64, members: ["A", "B", "C"])
        for shard in 0..<64 { #expect(cluster.writer(of: shard) == two[shard]) }
        let epochs = (0..<64).map { cluster.fences.epoch($0) }
        let moved = (0..<64).filter { three[$0] == "C" }
        #expect(!moved.isEmpty && moved.count < 40)

        let c = cluster.addNode("C", clockOffset: -3_333)
        cluster.nodes[a].autoIdle = false
        cluster.nodes[b].autoIdle = false
        let marks = cluster.nodes.map(\.log.count)
        for node in [c, a, b] { cluster.membersChanged(node, ["A", "B", "C"]) }
        for (node, id) in [(a, "A"), (b, "B")] {
            let handedOff = moved.filter { two[$0] == id }
            #expect(cluster.nodes[node].log[marks[node]...].map(\.action) == handedOff.map { .stopStartingWork(shard: $0) },
                    "\(id) stops starting work on its moved shards and touches nothing else")
            for shard in handedOff {
                #expect(cluster.nodes[node].ownership.state(ofShard: shard) == .handingOff(epoch: epochs[shard]))
                #expect(cluster.nodes[node].ownership.writableEpoch(ofShard: shard) == nil)
                #expect(cluster.nodes[node].ownership.ownedShards[shard] == epochs[shard], "still held: the page in flight writes under it")
                #expect(cluster.nodes[node].ownership.writableShards(at: cluster.local(node))[shard] == nil)
            }
        }
        #expect(cluster.nodes[c].log.map(\.action) == moved.map { .acquireLease(shard: $0) }, "refused while the old owners hold them")

        // The page in flight takes a while: the leases stay renewed, nobody takes the shards.
        cluster.advance(to: 8_000)
        for shard in moved {
            #expect(cluster.redis.holder(ShardCluster.key(shard), now: cluster.now) == two[shard])
            #expect(cluster.writer(of: shard) == nil)
            #expect(cluster.nodes[c].ownership.state(ofShard: shard) == .acquiringLease)
        }
        // Idle: released, with the epoch they were held under.
        let releaseMarks = cluster.nodes.map(\.log.count)
        cluster.reportIdle(a)
        cluster.reportIdle(b)
        let releases = [a, b].flatMap { node in cluster.nodes[node].log[releaseMarks[node]...].map(\.action) }
        #expect(Set(releases) == Set(moved.map { ShardOwnership.Action.releaseLease(shard: $0, epoch: epochs[$0]) }))
        for shard in moved { #expect(cluster.nodes[two[shard] == "A" ? a : b].ownership.state(ofShard: shard) == .unowned) }

        cluster.advance(to: 9_100)
        for shard in 0..<64 {
            #expect(cluster.writer(of: shard) == three[shard])
            #expect(cluster.fences.epoch(shard) == epochs[shard] + (moved.contains(shard) ? 1 : 0), "untouched shards keep their epoch")
        }
        for node in [a, b] {
            for action in cluster.nodes[node].log[marks[node]...].map(\.action) {
                switch action {
                case .renewLeases: continue
                case .stopStartingWork(let shard), .releaseLease(let shard, _): #expect(moved.contains(shard))
                default: Issue.record("unexpected \(action)")
                }
            }
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("lease loss stops writing at once: a refused renewal, and an expiry while Redis is unreachable")
    func leaseLoss() {
        var cluster = ShardCluster(shardCount: 4, timings: Self.timings)
        let a = cluster.addNode("A")
        cluster.membersChanged(a, ["A"])
        cluster.advance(to: 2_000)
        #expect(cluster.nodes[a].ownership.ownedShards == [0: 1, 1: 1, 2: 1, 3: 1])

        cluster.now = 2_050
        cluster.redis.steal(ShardCluster.key(2), token: "intruder", ttl: 10_000, now: cluster.now)
        let mark = cluster.nodes[a].log.count
        cluster.advance(to: 3_000)
        let actions = cluster.nodes[a].log[mark...].map(\.action)
        #expect(Array(actions.prefix(2)) == [.renewLeases(shards: [0, 1, 2, 3]), .stopWriting(shard: 2, reason: .leaseLost(.takenOver))],
                "the refusal's answer stops the shard before anything else")
        #expect(cluster.nodes[a].ownership.writableEpoch(ofShard: 2) == nil)
        #expect(cluster.nodes[a].ownership.ownedShards == [0: 1, 1: 1, 3: 1])
        #expect(actions.contains(.acquireLease(shard: 2)), "still desired: tries again (refused while the intruder holds it)")

        // Redis becomes unreachable right after the renewal at 3_000: valid until 5_700, not a moment longer.
        cluster.nodes[a].redisReachable = false
        let cut = cluster.nodes[a].log.count
        cluster.advance(to: 5_600)
        #expect(cluster.nodes[a].ownership.ownedShards == [0: 1, 1: 1, 3: 1], "failed renewals keep the validity")
        cluster.advance(to: 5_700)
        let stops = cluster.nodes[a].log[cut...].filter { if case .stopWriting = $0.action { true } else { false } }
        #expect(stops.map(\.at) == [5_700, 5_700, 5_700])
        #expect(stops.map(\.action) == [0, 1, 3].map {
            .stopWriting(shard: $0, reason: .leaseLost(.expired(validUntil: at(5_700), renewalInFlight: false)))
        })
        #expect(cluster.nodes[a].ownership.ownedShards.isEmpty)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a node dies: the survivors take its shards only after its leases' TTL, and within 2 x TTL")
    func nodeDies() {
        var cluster = ShardCluster(shardCount: 64, timings: Self.timings)
        let ids = ["A", "B", "C"]
        for (offset, id) in ids.enumerated() { cluster.addNode(id, clockOffset: Int64(offset) * 10_007) }
        for node in cluster.nodes.indices { cluster.membersChanged(node, ids) }
        cluster.advance(to: 3_000)
        let before = RendezvousHashing.assignment(shardCount: 64, members: ids)
        let after = RendezvousHashing.assignment(shardCount: 64, members: ["A", "B"])
        let orphaned = (0..<64).filter { before[$0] == "C" }
        let epochs = (0..<64).map { cluster.fences.epoch($0) }
        for shard in 0..<64 { #expect(cluster.writer(of: shard) == before[shard]) }

        // kill -9 of C right after its renewal at 3_000: its keys live until 6_000.
        cluster.nodes[cluster.index("C")].alive = false
        let death: Int64 = 3_000
        cluster.advance(to: 5_000)
        // The survivors' membership notices at 5_000 (member TTL 2 s).
        cluster.membersChanged(cluster.index("A"), ["A", "B"])
        cluster.membersChanged(cluster.index("B"), ["A", "B"])
        var firstOwned: [Int: Int64] = [:]
        while cluster.now < death + 2 * Self.timings.ttlMilliseconds {
            cluster.advance(to: cluster.now + 100)
            for shard in orphaned where firstOwned[shard] == nil && cluster.writer(of: shard) != nil {
                firstOwned[shard] = cluster.now
            }
        }
        for shard in orphaned {
            let owned = firstOwned[shard]
            #expect(owned != nil, "shard \(shard) has no owner 2 x TTL after its owner died")
            #expect((owned ?? 0) >= death + Self.timings.ttlMilliseconds, "shard \(shard) taken before the dead node's lease expired")
            #expect(cluster.writer(of: shard) == after[shard])
            #expect(cluster.fences.epoch(shard) == epochs[shard] + 1)
        }
        for shard in 0..<64 where !orphaned.contains(shard) {
            #expect(cluster.writer(of: shard) == before[shard])
            #expect(cluster.fences.epoch(shard) == epochs[shard])
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("shutdown hands every shard off and ends idle; the other node takes them")
    func shutdown() {
        var cluster = ShardCluster(shardCount: 16, timings: Self.timings)
        let a = cluster.addNode("A"), b = cluster.addNode("B")
        cluster.membersChanged(a, ["A", "B"])
        cluster.membersChanged(b, ["A", "B"])
        cluster.advance(to: 2_000)
        let mine = cluster.nodes[a].ownership.ownedShards.keys.sorted()
        #expect(!mine.isEmpty)
        cluster.nodes[a].autoIdle = false
        let mark = cluster.nodes[a].log.count
        cluster.run(a, cluster.nodes[a].ownership.shutdownRequested(now: cluster.local(a)))
        #expect(cluster.nodes[a].log[mark...].map(\.action) == mine.map { .stopStartingWork(shard: $0) })
        #expect(!cluster.nodes[a].ownership.isIdle)
        cluster.membersChanged(a, ["A", "B"])
        cluster.advance(to: 2_500)
        #expect(cluster.nodes[a].ownership.desiredShards.isEmpty)
        cluster.reportIdle(a)
        #expect(cluster.nodes[a].ownership.isIdle)
        // A leaves the membership; B takes everything at once (the keys were released).
        cluster.nodes[a].alive = false
        cluster.membersChanged(b, ["B"])
        for shard in 0..<16 { #expect(cluster.writer(of: shard) == "B") }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a write rejected by the fence stops the shard and re-fences it with a new epoch")
    func fencedWrite() {
        var cluster = ShardCluster(shardCount: 2, timings: Self.timings)
        let a = cluster.addNode("A")
        cluster.membersChanged(a, ["A"])
        #expect(cluster.nodes[a].ownership.writableEpoch(ofShard: 0) == 1)
        let mark = cluster.nodes[a].log.count
        cluster.run(a, cluster.nodes[a].ownership.writeFenced(0, epoch: 1))
        #expect(cluster.nodes[a].log[mark...].map(\.action) == [
            .stopWriting(shard: 0, reason: .fenceRejected(epoch: 1)),
            .bumpFence(shard: 0),
            .startWriting(shard: 0, epoch: 2),
        ])
        #expect(cluster.nodes[a].ownership.writeFenced(0, epoch: 1).isEmpty, "a stale epoch's rejection is old news")
    }

    @Test("the lease lost while the fence bump is in flight: the bump's late answer is discarded")
    func leaseLostDuringFenceBump() {
        var shards = ShardOwnership(nodeID: "A", shardCount: 1, lease: Self.timings)
        #expect(shards.membersChanged(["A"], now: at(0)) == [.acquireLease(shard: 0)])
        #expect(shards.leaseAcquired(0, sentAt: at(0)) == [.bumpFence(shard: 0)])
        // Postgres is slow; the renewal goes out meanwhile and is refused.
        #expect(shards.clockTicked(at(1_000)) == [.renewLeases(shards: [0])])
        #expect(shards.leaseRenewRefused(0, now: at(1_010)) == [], "nothing was written yet, so nothing to stop")
        #expect(shards.state(ofShard: 0) == .abandoningFenceBump)
        #expect(shards.fenceBumped(0, epoch: 5) == [.acquireLease(shard: 0)], "epoch 5 is discarded; try again")
        #expect(shards.writableEpoch(ofShard: 0) == nil)
        #expect(shards.leaseAcquired(0, sentAt: at(1_100)) == [.bumpFence(shard: 0)])
        #expect(shards.fenceBumpFailed(0, now: at(1_200)) == [])
        #expect(shards.clockTicked(at(1_449)) == [])
        #expect(shards.clockTicked(at(1_450)) == [.bumpFence(shard: 0)], "retried after the retry delay")
        #expect(shards.fenceBumped(0, epoch: 7) == [.startWriting(shard: 0, epoch: 7)])
        #expect(shards.ownedShards == [0: 7])
    }

    @Test("a handoff undone before idle resumes writing under the same epoch")
    func handoffCancelled() {
        var shards = ShardOwnership(nodeID: "A", shardCount: 8, lease: Self.timings)
        var now: Int64 = 0
        for case .acquireLease(let shard) in shards.membersChanged(["A"], now: at(now)) {
            for case .bumpFence(let shard) in shards.leaseAcquired(shard, sentAt: at(now)) {
                _ = shards.fenceBumped(shard, epoch: Int64(10 + shard))
            }
        }
        #expect(shards.ownedShards.count == 8)
        now = 100
        let handoff = shards.membersChanged(["A", "Z"], now: at(now))
        let moved = (0..<8).filter { RendezvousHashing.owner(ofShard: $0, among: ["A", "Z"]) == "Z" }
        #expect(handoff == moved.map { .stopStartingWork(shard: $0) })
        #expect(shards.membersChanged(["A"], now: at(200)) == moved.map { .startWriting(shard: $0, epoch: Int64(10 + $0)) })
        #expect(shards.ownedShards.count == 8)
        for shard in moved { #expect(shards.workflowsIdle(shard).isEmpty, "the old handoff's idle changes nothing now") }
        #expect(shards.ownedShards.count == 8)
    }

    @Test("a node absent from the live members desires nothing")
    func notAMember() {
        var shards = ShardOwnership(nodeID: "A", shardCount: 8, lease: Self.timings)
        #expect(shards.membersChanged(["B", "C"], now: at(0)).isEmpty)
        #expect(shards.desiredShards.isEmpty && shards.isIdle)
        #expect(shards.nextDeadline == nil)
    }
}
