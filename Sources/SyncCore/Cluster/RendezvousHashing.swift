/// Which live member should own each shard: rendezvous (highest random weight) hashing.
///
/// Every member gets a pseudo-random score per shard and the highest score wins. Adding a member to N
/// moves only the shards where the newcomer now scores highest (about 1/(N+1) of them, all to the
/// newcomer); removing a member moves only the shards it owned. No coordination is needed: every node
/// computes the same answer from the same member list, in any order.
///
/// The score is the SplitMix64 finalizer over the member id's FNV-1a hash mixed with the shard number:
/// stable across processes, machines and Swift versions (unlike `Hasher`).
public enum RendezvousHashing {
    /// The member that should own `shard`, or nil when there are no members. Equal scores (vanishingly
    /// rare) go to the member whose id sorts first, so the answer never depends on the input's order.
    public static func owner(ofShard shard: Int, among members: some Collection<String>) -> String? {
        var best: (id: String, score: UInt64)?
        for member in members {
            best = better(best, (member, score(memberHash: ShardMap.fnv1a(member), shard: shard)))
        }
        return best?.id
    }

    /// The owner of every shard in `0..<shardCount`; empty when there are no members.
    public static func assignment(shardCount: Int, members: some Collection<String>) -> [Int: String] {
        precondition(shardCount >= 0, "shardCount must not be negative, got \(shardCount)")
        let hashed = Set(members).map { ($0, ShardMap.fnv1a($0)) }
        guard !hashed.isEmpty else { return [:] }
        var result: [Int: String] = [:]
        result.reserveCapacity(shardCount)
        for shard in 0..<shardCount {
            var best: (id: String, score: UInt64)?
            for (member, hash) in hashed {
                best = better(best, (member, score(memberHash: hash, shard: shard)))
            }
            result[shard] = best?.id
        }
        return result
    }

    /// The score of `member` for `shard`: higher wins.
    public static func score(member: String, shard: Int) -> UInt64 {
        score(memberHash: ShardMap.fnv1a(member), shard: shard)
    }

    static func score(memberHash: UInt64, shard: Int) -> UInt64 {
        // The shard number is mixed on its own first so that neighbouring shards get unrelated keys;
        // XOR with the member's hash and a second mix make every (member, shard) pair independent.
        let shardKey = mix(UInt64(bitPattern: Int64(shard)) &+ 0x9E37_79B9_7F4A_7C15)
        return mix(memberHash ^ shardKey)
    }

    /// The SplitMix64 finalizer: a bijection on 64 bits with full avalanche.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func better(_ current: (id: String, score: UInt64)?, _ candidate: (id: String, score: UInt64)) -> (id: String, score: UInt64) {
        guard let current else { return candidate }
        if candidate.score != current.score { return candidate.score > current.score ? candidate : current }
        return candidate.id < current.id ? candidate : current
    }
}
