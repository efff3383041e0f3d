/// Organizations map to a fixed number of virtual shards by a stable hash of their id.
///
/// The hash is FNV-1a (64 bit) over the id's UTF-8 bytes: stable across processes, machines and
/// Swift versions, unlike `Hasher`, which is seeded per process.
public struct ShardMap: Sendable, Hashable {
    public let shardCount: Int

    public init(shardCount: Int) {
        precondition(shardCount > 0, "shardCount must be positive")
        self.shardCount = shardCount
    }

    public func shard(ofOrg orgID: String) -> Int {
        Int(Self.fnv1a(orgID) % UInt64(shardCount))
    }

    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
