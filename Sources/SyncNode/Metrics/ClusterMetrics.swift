import Metrics
import SyncTransport

/// The cluster layer's metrics (swift-metrics; the executable bootstraps the Prometheus backend and
/// the admin API serves it at `/metrics`). Names follow Prometheus conventions, prefixed `sync_`.
struct ClusterMetrics: Sendable {
    private let leaseAcquisitions = Counter(label: "sync_shard_lease_acquisitions_total")
    private let leaseLosses = Counter(label: "sync_shard_lease_losses_total")
    private let leaderships = Counter(label: "sync_leader_terms_started_total")
    private let ownedShards = Gauge(label: "sync_shards_owned")
    private let members = Gauge(label: "sync_cluster_members")
    /// From the first attempt to take a shard to writing under its new epoch: how long a takeover
    /// waited for the previous owner's lease (the failover as the taker sees it).
    private let takeover = Timer(label: "sync_shard_takeover_seconds", preferredDisplayUnit: .seconds)

    func leaseAcquired() { leaseAcquisitions.increment() }
    func leaseLost() { leaseLosses.increment() }
    func leadershipGained() { leaderships.increment() }
    func shardsOwned(_ count: Int) { ownedShards.record(count) }
    func membersSeen(_ count: Int) { members.record(count) }
    func takeoverTook(milliseconds: Int64) { takeover.recordMilliseconds(milliseconds) }

    private let framesSent = Counter(label: "sync_transport_frames_sent_total")
    private let framesReceived = Counter(label: "sync_transport_frames_received_total")
    private let frameErrors = Counter(label: "sync_transport_frame_errors_total")
    private let handshakesAccepted = Counter(label: "sync_transport_handshakes_accepted_total")
    private let handshakeRejects = Counter(label: "sync_transport_handshake_rejects_total")
    private let reconnects = Counter(label: "sync_transport_reconnects_total")
    private let peersTimedOut = Counter(label: "sync_transport_peers_timed_out_total")
    private let fenceRejections = Counter(label: "sync_fence_rejections_total")

    /// Adds what the transport counted since the last call.
    func transportCounted(_ now: TransportCounters, since before: TransportCounters) {
        func add(_ counter: Counter, _ delta: Int) { if delta > 0 { counter.increment(by: delta) } }
        add(framesSent, now.framesSent - before.framesSent)
        add(framesReceived, now.framesReceived - before.framesReceived)
        add(frameErrors, now.frameErrors - before.frameErrors)
        add(handshakesAccepted, now.handshakesAccepted - before.handshakesAccepted)
        add(handshakeRejects, now.handshakeRejects - before.handshakeRejects)
        add(reconnects, now.reconnects - before.reconnects)
        add(peersTimedOut, now.peersTimedOut - before.peersTimedOut)
    }
}
