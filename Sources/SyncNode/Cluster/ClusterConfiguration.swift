/// How a node takes part in a cluster. Absent (``NodeConfiguration/cluster`` nil), the node runs alone:
/// it takes every shard and the leader term at start, with no Redis.
///
/// Failover time is bounded by the lease TTL: a dead owner's shards are taken once its leases expire,
/// so the defaults are short. Too short for a loaded machine, and a busy node loses leases it still
/// needs (safe, because Postgres fences every write, but wasteful); raise them there.
public struct ClusterConfiguration: Sendable {
    /// Names the cluster; nodes of another cluster (or another secret) are refused at the handshake,
    /// and the Redis keys are namespaced by it. Default `syncengine`.
    public var clusterID: String
    /// `SYNC_CLUSTER_SECRET`: proves membership in the transport handshake (HMAC-SHA256).
    public var secret: [UInt8]
    /// Redis for membership and leases, `redis://host:port[/db]`.
    public var redisURL: String
    /// Where this node listens for other nodes' frames. Port 0 picks a free one.
    public var listenHost: String
    public var listenPort: Int
    /// The host other nodes connect to (the listen host unless it is a wildcard). Default: listen host.
    public var advertisedHost: String?
    /// Redis TTL of the shard and leader leases. Default 1,200 ms.
    public var leaseTTLMilliseconds: Int64
    /// How often leases are renewed, refused acquisitions retried and the membership rescanned. Default 150 ms.
    public var renewIntervalMilliseconds: Int64
    /// Subtracted from a lease's validity to cover Redis latency and clock-rate differences. Default 200 ms.
    public var leaseSafetyMarginMilliseconds: Int64
    /// TTL of a node's heartbeat key; a node silent this long has left. Default 1,200 ms.
    public var memberTTLMilliseconds: Int64
    /// Largest frame accepted from a peer. Default 4 MiB.
    public var maximumFrameSize: Int

    public init(
        clusterID: String = "syncengine", secret: [UInt8], redisURL: String, listenHost: String = "127.0.0.1", listenPort: Int = 0,
        advertisedHost: String? = nil, leaseTTLMilliseconds: Int64 = 1200, renewIntervalMilliseconds: Int64 = 150,
        leaseSafetyMarginMilliseconds: Int64 = 200, memberTTLMilliseconds: Int64 = 1200, maximumFrameSize: Int = 4 << 20
    ) {
        self.clusterID = clusterID
        self.secret = secret
        self.redisURL = redisURL
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.advertisedHost = advertisedHost
        self.leaseTTLMilliseconds = leaseTTLMilliseconds
        self.renewIntervalMilliseconds = renewIntervalMilliseconds
        self.leaseSafetyMarginMilliseconds = leaseSafetyMarginMilliseconds
        self.memberTTLMilliseconds = memberTTLMilliseconds
        self.maximumFrameSize = maximumFrameSize
    }
}
