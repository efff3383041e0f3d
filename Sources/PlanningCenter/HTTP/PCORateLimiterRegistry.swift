import SyncCore

/// One ``PCORateLimiter`` per credential, so that every workflow using the same PCO user shares its budget.
public final class PCORateLimiterRegistry: Sendable {
    private let limiters = Locked<[String: PCORateLimiter]>([:])
    private let configuration: RateLimitPlanner.Configuration
    private let clock: any RequestClock

    public init(configuration: RateLimitPlanner.Configuration = .init(), clock: any RequestClock = ContinuousRequestClock()) {
        self.configuration = configuration
        self.clock = clock
    }

    /// The limiter for a credential key (PCO counts per user: use the org id or the PAT application id).
    public func limiter(for key: String) -> PCORateLimiter {
        limiters.withLock { limiters in
            if let existing = limiters[key] { return existing }
            let created = PCORateLimiter(key: key, configuration: configuration, clock: clock)
            limiters[key] = created
            return created
        }
    }
}
