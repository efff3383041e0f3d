import Testing
@testable import SyncCore

@Suite("Rendezvous hashing")
struct RendezvousHashingTests {
    static func nodes(_ count: Int) -> [String] {
        (1...count).map { "node-\($0)" }
    }

    /// Binomial bounds: moving each shard independently with probability p, the moved count stays
    /// within 4 standard deviations of its mean.
    static func withinBinomialBounds(_ count: Int, trials: Int, probability: Double) -> Bool {
        let mean = Double(trials) * probability
        let deviation = (Double(trials) * probability * (1 - probability)).squareRoot()
        return abs(Double(count) - mean) <= 4 * deviation + 1
    }

    @Test("adding a node to N moves about 1/(N+1) of the shards, every one of them to the newcomer", arguments: [64, 1024])
    func joinMovesOnlyToTheNewcomer(shardCount: Int) {
        var totalMoved = 0
        var totalExpected = 0.0
        for count in 1...8 {
            let before = RendezvousHashing.assignment(shardCount: shardCount, members: Self.nodes(count))
            let after = RendezvousHashing.assignment(shardCount: shardCount, members: Self.nodes(count + 1))
            let moved = (0..<shardCount).filter { before[$0] != after[$0] }
            #expect(moved.allSatisfy { after[$0] == "node-\(count + 1)" }, "a join moves shards only to the new node")
            #expect(Self.withinBinomialBounds(moved.count, trials: shardCount, probability: 1 / Double(count + 1)),
                    "\(count) -> \(count + 1) nodes moved \(moved.count) of \(shardCount)")
            totalMoved += moved.count
            totalExpected += Double(shardCount) / Double(count + 1)
        }
        // Over all eight joins the fraction is close to the ideal.
        #expect(abs(Double(totalMoved) - totalExpected) <= totalExpected * (shardCount >= 1024 ? 0.05 : 0.2))
    }

    @Test("removing a node moves exactly its own shards and no other", arguments: [64, 1024])
    func leaveMovesOnlyTheLeaversShards(shardCount: Int) {
        for count in 2...9 {
            let members = Self.nodes(count)
            let before = RendezvousHashing.assignment(shardCount: shardCount, members: members)
            for leaver in members {
                let after = RendezvousHashing.assignment(shardCount: shardCount, members: members.filter { $0 != leaver })
                let moved = Set((0..<shardCount).filter { before[$0] != after[$0] })
                let owned = Set((0..<shardCount).filter { before[$0] == leaver })
                #expect(moved == owned, "removing \(leaver) from \(count) nodes")
            }
        }
    }

    @Test("the load is balanced", arguments: [64, 1024])
    func balance(shardCount: Int) {
        for count in 2...6 {
            let assignment = RendezvousHashing.assignment(shardCount: shardCount, members: Self.nodes(count))
            for node in Self.nodes(count) {
                let share = assignment.values.filter { $0 == node }.count
                #expect(Self.withinBinomialBounds(share, trials: shardCount, probability: 1 / Double(count)),
                        "\(node) of \(count) owns \(share) of \(shardCount)")
            }
        }
    }

    @Test("deterministic: the same answer for any order of the members, with duplicates, and per shard")
    func determinism() {
        let members = ["pco-a", "pco-b", "pco-c", "node-7", "x"]
        let reference = RendezvousHashing.assignment(shardCount: 256, members: members)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<10 {
            let shuffled = members.shuffled(using: &generator) + [members[0]]
            #expect(RendezvousHashing.assignment(shardCount: 256, members: shuffled) == reference)
            #expect(RendezvousHashing.assignment(shardCount: 256, members: Set(shuffled)) == reference)
        }
        for shard in 0..<256 {
            #expect(RendezvousHashing.owner(ofShard: shard, among: members) == reference[shard])
        }
        #expect(RendezvousHashing.owner(ofShard: 3, among: [String]()) == nil)
        #expect(RendezvousHashing.assignment(shardCount: 8, members: [String]()).isEmpty)
        #expect(RendezvousHashing.assignment(shardCount: 4, members: ["solo"]) == [0: "solo", 1: "solo", 2: "solo", 3: "solo"])
    }

    @Test("stable across processes, machines and versions (all nodes of a rolling upgrade must agree)")
    func goldenValues() {
        // Pinned values: a change here is a change of the shard placement of every deployment.
        #expect(RendezvousHashing.score(member: "node-1", shard: 0) == Self.golden.score)
        let assignment = RendezvousHashing.assignment(shardCount: 12, members: Self.nodes(3))
        #expect((0..<12).map { assignment[$0]! } == Self.golden.owners)
    }

    static let golden: (score: UInt64, owners: [String]) = (
        15_139_722_776_840_165_087,
        ["node-3", "node-1", "node-2", "node-2", "node-3", "node-3", "node-1", "node-1", "node-2", "node-1", "node-1", "node-2"]
    )
}
