import Metrics

/// The cluster layer's metrics (swift-metrics; the executable bootstraps the Prometheus backend and
/// the admin API serves it at `/metrics`). Names follow Prometheus conventions, prefixed `sync_`.
struct ClusterMetrics: Sendable {
    private let leaseAcquisitions = Counter(label: "sync_shard_lease_acquisitions_total")
    private let leaseLosses = Counter(label: "sync_shard_lease_losses_total")
    private let leaderships = Counter(label: "sync_leader_terms_started_total")
    private let ownedShards = Gauge(label: "sync_shards_owned")
    private let members = Gauge(label: "sync_cluster_members")

    func leaseAcquired() { leaseAcquisitions.increment() }
    func leaseLost() { leaseLosses.increment() }
    func leadershipGained() { leaderships.increment() }
    func shardsOwned(_ count: Int) { ownedShards.record(count) }
    func membersSeen(_ count: Int) { members.record(count) }
}
