import SyncCore

/// Carries out one credential's ``RateLimitPlanner`` with a clock: callers await a permit before each
/// request and report its outcome afterwards.
///
/// One limiter per credential, shared by everything that uses the credential (the page stream's
/// prefetch, the entity workflows of one org running side by side): see ``PCORateLimiterRegistry``.
/// Waiters are served first come, first served; a waiter whose task is cancelled leaves the queue.
public actor PCORateLimiter {
    /// What became of a request that was let out.
    public enum Outcome: Sendable, Hashable {
        /// A response other than 429, with its rate headers when it had them.
        case responded(RateLimitHeaders?)
        /// 429, with the parsed `Retry-After` and rate headers.
        case rateLimited(retryAfter: Duration?, headers: RateLimitHeaders?)
        /// No response (network error, timeout, cancellation).
        case failed
    }

    public nonisolated let key: String
    private var planner: RateLimitPlanner
    private let clock: any RequestClock
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<RateLimitPlanner.Ticket, any Error>)] = []
    private var nextWaiterID: UInt64 = 0
    private var timer: Task<Void, Never>?
    private var timerDeadline: Duration?

    public init(key: String, configuration: RateLimitPlanner.Configuration = .init(), clock: any RequestClock = ContinuousRequestClock()) {
        self.key = key
        self.planner = RateLimitPlanner(configuration: configuration)
        self.clock = clock
    }

    /// Waits until the planner lets a request out and returns its ticket; report the outcome with ``completed(_:_:)``.
    public func acquire() async throws -> RateLimitPlanner.Ticket {
        try Task.checkCancellation()
        if waiters.isEmpty {
            let now = clock.now
            if case .proceed = planner.nextPermit(at: now) { return planner.requestStarted(at: now) }
        }
        nextWaiterID += 1
        let id = nextWaiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append((id, continuation))
                drain()
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Reports what became of a request, which may release waiters.
    public func completed(_ ticket: RateLimitPlanner.Ticket, _ outcome: Outcome) {
        let now = clock.now
        switch outcome {
        case .responded(let headers): planner.responseReceived(ticket, at: now, headers: headers)
        case .rateLimited(let retryAfter, let headers): planner.rateLimited(ticket, at: now, retryAfter: retryAfter, headers: headers)
        case .failed: planner.requestFailed(ticket, at: now)
        }
        drain()
    }

    /// The planner's view, for logs and progress.
    public func snapshot() -> RateLimitPlanner.Snapshot { planner.snapshot() }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
        drain()
    }

    private func drain() {
        let now = clock.now
        while !waiters.isEmpty {
            switch planner.nextPermit(at: now) {
            case .proceed:
                let ticket = planner.requestStarted(at: now)
                waiters.removeFirst().continuation.resume(returning: ticket)
            case .wait(let until):
                scheduleTimer(at: until)
                return
            case .waitForResponse:
                return
            }
        }
    }

    private func scheduleTimer(at deadline: Duration) {
        if let timerDeadline, timerDeadline <= deadline, timer != nil { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = Task { [clock] in
            do {
                try await clock.sleep(until: deadline)
            } catch {
                return
            }
            self.timerFired(deadline)
        }
    }

    private func timerFired(_ deadline: Duration) {
        if timerDeadline == deadline {
            timer = nil
            timerDeadline = nil
        }
        drain()
    }
}
