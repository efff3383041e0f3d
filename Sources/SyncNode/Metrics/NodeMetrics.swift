import Metrics
import SyncCore

/// The sync work's metrics (swift-metrics; Prometheus at `/metrics` when the executable bootstraps
/// it, no-ops otherwise). Labels stay low-cardinality: never an org or run id.
///
/// API figures come from the committed page steps (each step journals the requests behind its page),
/// so a page fetched again after a failover is counted where it was committed. Rate-budget use is
/// not exported yet (the limiter knows the advertised budget, the metrics do not); the benchmarks
/// measure it from the simulator's side.
enum NodeMetrics {
    static func fenceRejected() { Counter(label: "sync_fence_rejections_total").increment() }

    static func pageCommitted(rows: Int, counters: RequestCounters) {
        Counter(label: "sync_pages_committed_total").increment()
        Counter(label: "sync_rows_written_total").increment(by: rows)
        let answered429 = counters.rateLimited
        let retried = counters.retries
        Counter(label: "sync_api_requests_total", dimensions: [("status", "2xx")]).increment(by: max(0, counters.requests - answered429 - retried))
        if answered429 > 0 { Counter(label: "sync_api_requests_total", dimensions: [("status", "429")]).increment(by: answered429) }
        if retried > 0 { Counter(label: "sync_api_retries_total").increment(by: retried) }
    }

    static func runFinished(state: String) { Counter(label: "sync_runs_finished_total", dimensions: [("state", state)]).increment() }
}
