import Metrics
import SyncCore

/// The sync work's metrics (swift-metrics; Prometheus at `/metrics` when the executable bootstraps
/// it, no-ops otherwise). Labels stay low-cardinality: never an org or run id.
///
/// API figures come from the committed page steps (each step journals the requests behind its page),
/// so a page fetched again after a failover is counted where it was committed. Rate-budget use is
/// sampled from the limiters every few seconds: requests charged to the current windows and the
/// limits PCO advertised, summed over the node's credentials (`avg_over_time` of the ratio is the
/// share of the budget used).
enum NodeMetrics {
    static func fenceRejected() { Counter(label: "sync_fence_rejections_total").increment() }

    /// A nested listing answered 404: its parent was deleted at the source after the run listed it.
    static func nestedListingOfDeletedParent() { Counter(label: "sync_nested_parent_gone_total").increment() }

    /// A workflow stayed longer than the watchdog's bound in one phase.
    static func slowWorkflowStep() { Counter(label: "sync_workflow_slow_steps_total").increment() }

    static func pageCommitted(rows: Int, counters: RequestCounters) {
        Counter(label: "sync_pages_committed_total").increment()
        Counter(label: "sync_rows_written_total").increment(by: rows)
        let answered429 = counters.rateLimited
        let retried = counters.retries
        Counter(label: "sync_api_requests_total", dimensions: [("status", "2xx")]).increment(by: max(0, counters.requests - answered429 - retried))
        if answered429 > 0 { Counter(label: "sync_api_requests_total", dimensions: [("status", "429")]).increment(by: answered429) }
        if retried > 0 { Counter(label: "sync_api_retries_total").increment(by: retried) }
    }

    static func rateBudget(used: Int, limit: Int) {
        Gauge(label: "sync_api_rate_budget_used").record(used)
        Gauge(label: "sync_api_rate_budget_limit").record(limit)
        Gauge(label: "sync_api_rate_budget_use_ratio").record(limit > 0 ? Double(used) / Double(limit) : 0)
    }

    static func runFinished(state: String) { Counter(label: "sync_runs_finished_total", dimensions: [("state", state)]).increment() }
}
