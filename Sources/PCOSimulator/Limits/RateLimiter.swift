/// PCO's rate limit, as it is configured at a moment.
public struct RateLimitPolicy: Sendable, Hashable, Codable {
    /// Requests allowed per window; PCO's default is 100.
    public var limit: Int
    /// Window length in seconds; PCO's default is 20. Whole seconds are what the headers can express.
    public var periodSeconds: Int
    /// The stricter limit for requests with a deep `offset` (PCO: 75 past offset 30,000).
    public var deepOffsetLimit: Int
    public var deepOffsetThreshold: Int
    /// False turns limiting off (for benchmarks); headers are still sent, with the limit as configured.
    public var enabled: Bool

    public init(limit: Int = 100, periodSeconds: Int = 20, deepOffsetLimit: Int = 75, deepOffsetThreshold: Int = 30_000, enabled: Bool = true) {
        self.limit = limit
        self.periodSeconds = periodSeconds
        self.deepOffsetLimit = deepOffsetLimit
        self.deepOffsetThreshold = deepOffsetThreshold
        self.enabled = enabled
    }

    public static let pcoDefault = RateLimitPolicy()

    enum CodingKeys: String, CodingKey {
        case limit, periodSeconds = "period_seconds", deepOffsetLimit = "deep_offset_limit"
        case deepOffsetThreshold = "deep_offset_threshold", enabled
    }
}

/// The limiter's verdict on one request, and what the rate headers say.
struct RateDecision: Sendable, Hashable {
    var allowed: Bool
    /// Requests counted in the current window, this one included (rejected ones count too).
    var count: Int
    var limit: Int
    var periodSeconds: Int
    /// Whole seconds until the window resets, at least 1: PCO's `Retry-After`.
    var retryAfterSeconds: Int
}

/// PCO's fixed-window limiter, per credential. Pure: the monotonic time is passed in.
///
/// The window opens with a credential's first request and resets `period` seconds later; every request
/// in the window counts, including rejected ones, so hammering through a 429 keeps the count climbing
/// (PCO's sample 429 shows a count of 118 against a limit of 100).
struct RateLimiter: Sendable {
    private struct Window: Sendable {
        var start: Double
        var count: Int
    }

    private var windows: [String: Window] = [:]

    /// Counts a request that arrived at `now` and decides it. `forceReject` answers 429 regardless
    /// (the `force_429_count` fault) while still counting the request.
    mutating func requestArrived(credential: String, offset: Int, now: Double, policy: RateLimitPolicy, forceReject: Bool = false) -> RateDecision {
        let period = Double(max(1, policy.periodSeconds))
        var window = windows[credential] ?? Window(start: now, count: 0)
        if now >= window.start + period || now < window.start {
            window = Window(start: now, count: 0)
        }
        window.count += 1
        windows[credential] = window
        let limit = offset > policy.deepOffsetThreshold ? min(policy.limit, policy.deepOffsetLimit) : policy.limit
        let remaining = window.start + period - now
        let retryAfter = max(1, Int(remaining.rounded(.up)))
        let allowed = !forceReject && (!policy.enabled || window.count <= limit)
        return RateDecision(allowed: allowed, count: window.count, limit: limit, periodSeconds: Int(period), retryAfterSeconds: retryAfter)
    }

    /// Forgets every window (a rate-limit reconfiguration starts afresh).
    mutating func reset() {
        windows = [:]
    }
}
