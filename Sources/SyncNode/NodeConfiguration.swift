/// How a node runs. Defaults suit a laptop or a small deployment; the executable fills it from flags
/// and environment variables.
public struct NodeConfiguration: Sendable {
    /// Unique per node of a cluster. Default `node-1`.
    public var nodeID: String
    /// Admin HTTP address. Default 127.0.0.1:8081.
    public var adminHost: String
    public var adminPort: Int
    /// Number of virtual shards organizations are hashed onto. Fixed per deployment. Default 64.
    public var shardCount: Int
    /// Delta overlap window: deltas re-read this much before the watermark, covering clock skew and
    /// records sharing the watermark's second. Default 300 s.
    public var overlapSeconds: Int64
    /// Entity workflows of one run at once. Default 6.
    public var maximumConcurrentEntities: Int
    /// Runs the leader coordinates at once (a coordinator only dispatches and journals; the work runs
    /// at the shard owners, under each org's rate limit). Default 64.
    public var maximumConcurrentRuns: Int
    /// How often the node looks for runs to start or resume, besides being told. Default 1 s.
    public var pollInterval: Duration
    /// How long a graceful shutdown waits for pages in flight before it cancels them. Default 15 s.
    public var drainTimeout: Duration
    /// Rate-limit budget per credential the limiter assumes before the first response tells it. Default 100 per 20 s.
    public var assumedRateLimit: Int
    /// Concurrent partition workflows a nested listing (one request per household or group) is
    /// split into. Default 32: their pages are small, and the more leave in one group commit the
    /// cheaper each is (merged into one page per org); against 8, a 5,000-people sync ran 10–20 %
    /// faster (`cluster/bench/e2e-sync`, alternating, 3 pairs; 64 was no faster than 32). Each may
    /// fetch its page in flight again after a crash, so a run's refetches grow with it; and each
    /// waits as a workflow under a rate limit, where more add no throughput: 100 orgs syncing at
    /// once peaked at 140 MB a node against 113 MB with 8 (`cluster/bench/cluster-scale`).
    public var nestedPartitions: Int = 32
    /// Most partition workflows a top-level listing's pass is split into by `created_at`
    /// (``CreatedAtSplit``: Person, Email, PhoneNumber, Household, Campus; at least 500 records a
    /// partition, so small orgs are not split). Default 4. Planning a full pass costs one probe
    /// request, and a split one more per partition; 1 turns splitting off.
    public var listingPartitions: Int = 4
    /// A workflow that stays this long in one phase (one fetch, one commit) is logged as slow, with
    /// what it is doing. Default 60 s: a page takes well under a second unless something hangs.
    public var slowStepWarning: Duration = .seconds(60)
    /// Cluster membership; nil runs the node alone (every shard and the leader term, no Redis).
    public var cluster: ClusterConfiguration?
    /// For failure tests only: a pause between a page's fetch and its commit, announced in the log,
    /// so a test can kill the node exactly there. Default zero.
    public var testCommitDelay: Duration = .zero

    public init(
        nodeID: String = "node-1", adminHost: String = "127.0.0.1", adminPort: Int = 8081, shardCount: Int = 64,
        overlapSeconds: Int64 = 300, maximumConcurrentEntities: Int = 6, maximumConcurrentRuns: Int = 64,
        pollInterval: Duration = .seconds(1), drainTimeout: Duration = .seconds(15), assumedRateLimit: Int = 100
    ) {
        self.nodeID = nodeID
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.shardCount = shardCount
        self.overlapSeconds = overlapSeconds
        self.maximumConcurrentEntities = maximumConcurrentEntities
        self.maximumConcurrentRuns = maximumConcurrentRuns
        self.pollInterval = pollInterval
        self.drainTimeout = drainTimeout
        self.assumedRateLimit = assumedRateLimit
    }
}
