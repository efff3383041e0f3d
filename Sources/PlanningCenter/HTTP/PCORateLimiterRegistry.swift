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

    /// The budget of the current rate-limit windows summed over every credential: requests charged
    /// to them and the limits the server advertised. Credentials not answered yet (limit unknown) are
    /// left out, so `used / limit` is the share of the known budget spent in the current windows.
    public func currentBudget() async -> (used: Int, limit: Int) {
        let all = limiters.withLock { Array($0.values) }
        var used = 0
        var limit = 0
        for limiter in all {
            let snapshot = await limiter.snapshot()
            guard let advertised = snapshot.limit else { continue }
            used += snapshot.usedInWindow
            limit += advertised
        }
        return (used, limit)
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
