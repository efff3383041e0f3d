import Metrics

/// The sync work's metrics (swift-metrics; Prometheus at `/metrics` when the executable bootstraps
/// it, no-ops otherwise). Labels stay low-cardinality: never an org or run id.
enum NodeMetrics {
    static func fenceRejected() { Counter(label: "sync_fence_rejections_total").increment() }
    static func pageCommitted(rows: Int) {
        Counter(label: "sync_pages_committed_total").increment()
        Counter(label: "sync_rows_written_total").increment(by: rows)
    }
    static func runFinished(state: String) { Counter(label: "sync_runs_finished_total", dimensions: [("state", state)]).increment() }
    static func runStarted() { Counter(label: "sync_runs_coordinated_total").increment() }
    static func dispatchRetried() { Counter(label: "sync_dispatch_retries_total").increment() }
}
