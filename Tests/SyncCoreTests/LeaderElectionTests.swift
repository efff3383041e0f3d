import Testing
@testable import SyncCore

@Suite("Leader election")
struct LeaderElectionTests {
    static let timings = LeaseTimings(ttlMilliseconds: 3_000, renewIntervalMilliseconds: 1_000, safetyMarginMilliseconds: 300)

    static func leading(term: Int64 = 1) -> LeaderElection {
        var election = LeaderElection(lease: timings)
        _ = election.leadershipWanted(now: at(0))
        _ = election.leaseAcquired(sentAt: at(0))
        _ = election.termBegun(term)
        return election
    }

    @Test("lease, then term, then leading; a lost lease stops leading at once and tries again")
    func lifecycle() {
        var election = LeaderElection(lease: Self.timings)
        #expect(election.leadershipWanted(now: at(0)) == [.acquireLease])
        #expect(election.leaseAcquired(sentAt: at(0)) == [.beginTerm])
        #expect(election.state == .beginningTerm && election.currentTerm == nil, "not leading before the term")
        #expect(election.termBegun(4) == [.startLeading(term: 4)])
        #expect(election.currentTerm == 4)
        #expect(election.clockTicked(at(1_000)) == [.renewLease])
        #expect(election.leaseRenewed(sentAt: at(1_000)) == [])
        #expect(election.clockTicked(at(2_000)) == [.renewLease])
        #expect(election.leaseRenewRefused(now: at(2_010)) == [.stopLeading(reason: .leaseLost(.takenOver)), .acquireLease])
        #expect(election.currentTerm == nil)
        #expect(election.leaseRefused(now: at(2_020)) == [])
        #expect(election.clockTicked(at(3_019)) == [])
        #expect(election.clockTicked(at(3_020)) == [.acquireLease], "retried every renew interval")
    }

    @Test("the lease expiring while leading stops leading at the deadline tick")
    func expiry() {
        var election = Self.leading()
        #expect(election.clockTicked(at(1_000)) == [.renewLease])
        #expect(election.leaseRequestFailed(now: at(1_500)) == [])
        #expect(election.isLeading(at: at(2_699)))
        #expect(!election.isLeading(at: at(2_700)))
        let actions = election.clockTicked(at(2_700))
        #expect(actions.first == .stopLeading(reason: .leaseLost(.expired(validUntil: at(2_700), renewalInFlight: false))),
                "the retry due at 1_750 never went out: no tick until the deadline")
        #expect(actions.dropFirst() == [.acquireLease])
    }

    @Test("a failed term bump releases the lease and retries after the renew interval")
    func termBeginFailed() {
        var election = LeaderElection(lease: Self.timings)
        _ = election.leadershipWanted(now: at(0))
        _ = election.leaseAcquired(sentAt: at(0))
        #expect(election.termBeginFailed(now: at(200)) == [.releaseLease])
        #expect(election.leaseReleased() == [], "not before the retry time")
        #expect(election.clockTicked(at(1_199)) == [])
        #expect(election.clockTicked(at(1_200)) == [.acquireLease])
        #expect(election.leaseAcquired(sentAt: at(1_200)) == [.beginTerm])
        #expect(election.termBegun(2) == [.startLeading(term: 2)])
    }

    @Test("the lease lost during the term bump: the bump's late answer is discarded, then a new attempt")
    func lossDuringTermBump() {
        var election = LeaderElection(lease: Self.timings)
        _ = election.leadershipWanted(now: at(0))
        _ = election.leaseAcquired(sentAt: at(0))
        #expect(election.clockTicked(at(1_000)) == [.renewLease])
        #expect(election.leaseRenewRefused(now: at(1_050)) == [])
        #expect(election.state == .abandoningTerm)
        #expect(election.termBegun(9) == [.acquireLease], "term 9 is never led under")
        #expect(election.currentTerm == nil)
        #expect(election.leaseAcquired(sentAt: at(1_100)) == [.beginTerm])
        #expect(election.termBegun(10) == [.startLeading(term: 10)])
    }

    @Test("shutdown: stop leading, release; nothing more acquired")
    func shutdown() {
        var election = Self.leading(term: 3)
        #expect(election.shutdownRequested(now: at(500)) == [.stopLeading(reason: .shutdown), .releaseLease])
        #expect(election.leaseReleased() == [])
        #expect(election.isIdle)
        #expect(election.clockTicked(at(5_000)) == [])

        var follower = LeaderElection(lease: Self.timings)
        _ = follower.leadershipWanted(now: at(0))
        _ = follower.leaseRefused(now: at(10))
        #expect(follower.shutdownRequested(now: at(20)) == [])
        #expect(follower.isIdle)
    }

    /// Leader A journals dispatches and dies mid-run; B wins the lease only after A's key expires,
    /// begins a higher term, replays the journal and re-sends the dispatched-but-unfinished entities
    /// (harmless: every dispatch carries an idempotency key).
    @Test("the leader dies during a dispatch: the new leader replays the journal and re-sends the unfinished entities")
    func leaderDiesDuringDispatch() throws {
        let ttl = Self.timings.ttlMilliseconds
        var redis = FakeLeaseTable()
        var term: Int64 = 0
        var journal: [(term: Int64, event: Orchestrator.Event)] = []
        var nodes = ["A": LeaderElection(lease: Self.timings), "B": LeaderElection(lease: Self.timings)]
        var leaders: [String: Int64] = [:]
        var gainedAt: [String: Int64] = [:]
        var now: Int64 = 0

        func handle(_ node: String, _ actions: [LeaderElection.Action]) {
            var queue = actions
            while !queue.isEmpty {
                switch queue.removeFirst() {
                case .acquireLease:
                    if redis.acquire("leader", token: node, ttl: ttl, now: now) {
                        gainedAt[node] = now
                        queue += nodes[node]!.leaseAcquired(sentAt: at(now))
                    } else {
                        queue += nodes[node]!.leaseRefused(now: at(now))
                    }
                case .renewLease:
                    queue += redis.renew("leader", token: node, ttl: ttl, now: now)
                        ? nodes[node]!.leaseRenewed(sentAt: at(now)) : nodes[node]!.leaseRenewRefused(now: at(now))
                case .releaseLease:
                    redis.release("leader", token: node, now: now)
                    queue += nodes[node]!.leaseReleased()
                case .beginTerm:
                    term += 1
                    queue += nodes[node]!.termBegun(term)
                case .startLeading(let newTerm):
                    leaders[node] = newTerm
                case .stopLeading:
                    leaders[node] = nil
                }
            }
        }

        handle("A", nodes["A"]!.leadershipWanted(now: at(0)))
        handle("B", nodes["B"]!.leadershipWanted(now: at(0)))
        #expect(leaders == ["A": 1])

        // A runs a sync: dispatches level 0 (journaling each decision before sending), one completes.
        let graph = try OrchestratorTests.graph()
        var orchestratorA = Orchestrator(graph: graph)
        for case .dispatch(let entity) in orchestratorA.decide() {
            orchestratorA.apply(.dispatched(entity: entity))
            journal.append((leaders["A"]!, .dispatched(entity: entity)))
        }
        orchestratorA.apply(.entityCompleted(entity: "Campus"))
        journal.append((leaders["A"]!, .entityCompleted(entity: "Campus")))
        // A dispatches Email (Person completed) and dies before Email or anything else completes.
        orchestratorA.apply(.entityCompleted(entity: "Person"))
        journal.append((leaders["A"]!, .entityCompleted(entity: "Person")))
        #expect(orchestratorA.decide() == [.dispatch(entity: "Email")])
        journal.append((leaders["A"]!, .dispatched(entity: "Email")))

        // Both tick every 100 ms until A dies at 2_050 (its last renewal at 2_000: key until 5_000).
        while now < 2_000 {
            now += 100
            for node in ["A", "B"] { handle(node, nodes[node]!.clockTicked(at(now))) }
        }
        let keyExpiry = try #require(redis.expiry("leader"))
        #expect(keyExpiry == 5_000)
        while leaders["B"] == nil && now < 20_000 {
            now += 100
            handle("B", nodes["B"]!.clockTicked(at(now)))
            #expect(leaders["B"] == nil || now >= keyExpiry, "B leads before A's lease expired")
        }
        let bGained = try #require(gainedAt["B"])
        #expect(bGained >= keyExpiry && bGained <= keyExpiry + Self.timings.renewIntervalMilliseconds)
        #expect(leaders["B"] == 2, "a higher term fences A's journal writes")

        // B replays the journal into a fresh orchestrator.
        var orchestratorB = Orchestrator(graph: graph)
        for entry in journal where entry.term < leaders["B"]! { orchestratorB.apply(entry.event) }
        let resent = orchestratorB.dispatchedEntities
        #expect(resent.contains("Email"), "the dispatch A made just before dying is re-sent")
        #expect(Set(resent) == ["Household", "GroupType", "Email"])
        #expect(!resent.contains("Campus") && !resent.contains("Person"), "completed entities are not re-sent")
        #expect(orchestratorB.decide().isEmpty, "nothing new is ready until those complete")
        for entity in resent { orchestratorB.apply(.entityCompleted(entity: entity)) }
        #expect(orchestratorB.decide() == [.dispatch(entity: "Group")])
    }
}
