/// Bounded, capped exponential backoff with full jitter, for failures that may pass by themselves
/// (5xx, network errors, timeouts, truncated bodies).
///
/// Attempt `n` (0-based count of failures so far) waits a uniformly random duration in
/// `[0, min(cap, base * 2^n)]` ("full jitter"), so many clients failing together spread out instead of
/// retrying in lockstep. After `maxRetries` retries the caller gives up. The generator is injected:
/// a seeded one makes the delays reproducible in tests.
public struct BackoffPolicy: Sendable, Hashable {
    /// Retries after the first attempt. Default 5.
    public var maxRetries: Int
    /// The ceiling of the first delay. Default 250 ms.
    public var base: Duration
    /// No delay exceeds this. Default 10 s.
    public var cap: Duration

    public init(maxRetries: Int = 5, base: Duration = .milliseconds(250), cap: Duration = .seconds(10)) {
        precondition(maxRetries >= 0 && base >= .zero && cap >= base, "invalid backoff policy \(maxRetries) \(base) \(cap)")
        self.maxRetries = maxRetries
        self.base = base
        self.cap = cap
    }

    /// The largest delay the `failures`-th retry can draw (failures counted from 1).
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let scaled = base * (1 << exponent)
        return min(scaled, cap)
    }

    /// How long to wait before retrying after `failures` failures, or nil when the retries are spent.
    public func delay(afterFailures failures: Int, using generator: inout some RandomNumberGenerator) -> Duration? {
        guard failures >= 1, failures <= maxRetries else { return nil }
        let ceiling = ceiling(afterFailures: failures)
        let nanoseconds = ceiling.totalNanoseconds
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating), for arithmetic the standard library does not offer.
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
