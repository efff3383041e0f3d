/// Plans when the requests of one credential may go out so that PCO's fixed-window limit is used fully
/// but never exceeded.
///
/// PCO counts requests per user in a fixed window (`X-PCO-API-Request-Rate-Count` of `-Limit` per `-Period`);
/// the count resets when the window ends and a 429's `Retry-After` is the number of seconds until then
/// (pco-api.md §1.5). The server never says when its window started, so the planner infers it:
///
/// - The window holding a request started no later than the request was counted, hence no later than
///   its response arrived: the window ends at most `period` after the *first* response seen in it. That
///   upper bound (`endBound`) is when the planner moves on to a new window, plus `safetyMargin`.
/// - Within a window it allows `limit - used` requests, where `used` is every request it let out in this
///   window (in flight or answered) plus requests the server counted that were not ours (another process
///   using the same credential): a count above everything we have sent in the window reveals those.
/// - Requests still in flight when a window ends may be counted in the next one, so they are charged to it.
/// - A lowered limit (PCO drops to 75 past offset 30,000) takes effect with the response that reports it.
/// - A 429 blocks everything until `Retry-After`; when its count shows the window spent, `Retry-After`
///   also becomes the window's end, which is the one exact boundary the server ever gives.
///
/// States: *probing* (no figures yet: one request at a time until a response teaches the limit) →
/// *windowed* (limit known; each window goes open → spent → ended). Responses move figures, time moves
/// windows; the planner never reads a clock: every event carries its instant, a `Duration` from any origin.
public struct RateLimitPlanner: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Waited past the estimated end of a window before the next one is used: absorbs clock
        /// granularity between client and server. Default 50 ms (0.25 % of PCO's 20 s window).
        public var safetyMargin: Duration
        /// Requests of each window left unused on purpose. Default 0: the estimate is an upper bound already.
        public var reserve: Int
        /// How long a 429 without `Retry-After` blocks when no window estimate exists. Default 20 s.
        public var defaultRetryAfter: Duration
        /// The limit assumed before any response; nil (the default) probes with one request first.
        public var assumedLimit: Int?

        public init(
            safetyMargin: Duration = .milliseconds(50),
            reserve: Int = 0,
            defaultRetryAfter: Duration = .seconds(20),
            assumedLimit: Int? = nil
        ) {
            self.safetyMargin = safetyMargin
            self.reserve = reserve
            self.defaultRetryAfter = defaultRetryAfter
            self.assumedLimit = assumedLimit
        }
    }

    /// Identifies one request the planner let out, from `requestStarted` to its outcome.
    public struct Ticket: Sendable, Hashable {
        public let id: UInt64
    }

    /// What the caller should do before sending a request.
    public enum Decision: Sendable, Hashable {
        /// Send now, and report it with ``RateLimitPlanner/requestStarted(at:)``.
        case proceed
        /// Ask again at this instant (or earlier, when another event arrives).
        case wait(until: Duration)
        /// The budget is spent and the window's end is not known yet: ask again after the next response.
        case waitForResponse
    }

    /// A summary for logs and progress reports.
    public struct Snapshot: Sendable, Hashable {
        public var limit: Int?
        public var period: Duration?
        public var usedInWindow: Int
        public var inFlight: Int
        public var windowEnd: Duration?
        public var blockedUntil: Duration?
    }

    struct Window: Sendable, Hashable {
        var generation: UInt64
        /// Requests charged to this window: ours (including carried-over in-flight ones).
        var sent: Int
        /// Requests the server counted that were not ours.
        var others: Int
        /// Upper bound of the instant the server resets its count; nil until a response of this window.
        var endBound: Duration?
    }

    struct InFlight: Sendable, Hashable {
        var generation: UInt64
    }

    public let configuration: Configuration
    public private(set) var limit: Int?
    public private(set) var period: Duration?
    var window = Window(generation: 0, sent: 0, others: 0, endBound: nil)
    var inFlight: [UInt64: InFlight] = [:]
    var blockedUntil: Duration?
    var nextTicket: UInt64 = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.limit = configuration.assumedLimit
    }

    // MARK: Decisions

    /// Whether a request may go out at `now`.
    public mutating func nextPermit(at now: Duration) -> Decision {
        rollWindowIfEnded(at: now)
        if let blockedUntil, now < blockedUntil { return .wait(until: blockedUntil) }
        guard let limit else {
            // Probing: the first response tells the limit; until then one request at a time.
            return inFlight.isEmpty ? .proceed : .waitForResponse
        }
        let budget = max(1, limit - configuration.reserve)
        if window.sent + window.others < budget { return .proceed }
        if let end = window.endBound { return .wait(until: end + configuration.safetyMargin) }
        return .waitForResponse
    }

    // MARK: Events

    /// A request was sent (after a `.proceed`).
    public mutating func requestStarted(at now: Duration) -> Ticket {
        rollWindowIfEnded(at: now)
        nextTicket += 1
        inFlight[nextTicket] = InFlight(generation: window.generation)
        window.sent += 1
        return Ticket(id: nextTicket)
    }

    /// A response arrived (any status but 429) with the rate-limit headers it carried, if any.
    public mutating func responseReceived(_ ticket: Ticket, at now: Duration, headers: RateLimitHeaders?) {
        let request = inFlight.removeValue(forKey: ticket.id)
        rollWindowIfEnded(at: now)
        guard let headers else { return }
        learn(headers)
        guard let request else { return }
        if request.generation == window.generation {
            // The server counted this request in a window that started no later than now.
            window.endBound = min(window.endBound ?? now + headers.period, now + headers.period)
            // The server cannot have counted more of ours than we have sent in this window so far (responses
            // arrive out of order, so the request's own ordinal is no bound): the excess is someone else's.
            window.others = max(window.others, headers.count - window.sent)
        } else if window.endBound == nil && !inFlight.values.contains(where: { $0.generation == window.generation }) {
            // A carried-over request: the current window (if it started) ends within a period from now.
            window.endBound = now + headers.period
        }
    }

    /// The server answered 429. `retryAfter` is the parsed `Retry-After`, nil when absent.
    public mutating func rateLimited(_ ticket: Ticket, at now: Duration, retryAfter: Duration?, headers: RateLimitHeaders?) {
        inFlight.removeValue(forKey: ticket.id)
        rollWindowIfEnded(at: now)
        if let headers { learn(headers) }
        let wait = retryAfter
            ?? window.endBound.map { $0 > now ? $0 - now : .zero }
            ?? period
            ?? configuration.defaultRetryAfter
        let until = now + wait
        blockedUntil = max(blockedUntil ?? until, until)
        let spent = headers.map { $0.count >= $0.limit } ?? true
        if spent {
            // The window is spent and the server told us when it resets.
            window.sent = max(window.sent, limit ?? 1)
            window.endBound = until
        }
    }

    /// The request ended without a response (network error, timeout, cancellation). It may still have
    /// been counted, so it stays charged to its window.
    public mutating func requestFailed(_ ticket: Ticket, at now: Duration) {
        inFlight.removeValue(forKey: ticket.id)
        rollWindowIfEnded(at: now)
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            limit: limit, period: period, usedInWindow: window.sent + window.others, inFlight: inFlight.count,
            windowEnd: window.endBound, blockedUntil: blockedUntil
        )
    }

    // MARK: Internals

    private mutating func learn(_ headers: RateLimitHeaders) {
        limit = headers.limit
        period = headers.period
    }

    private mutating func rollWindowIfEnded(at now: Duration) {
        if let blockedUntil, now >= blockedUntil { self.blockedUntil = nil }
        guard let end = window.endBound, now >= end + configuration.safetyMargin else { return }
        // Requests still in flight may be counted in the new window: charge them to it.
        window = Window(generation: window.generation + 1, sent: inFlight.count, others: 0, endBound: nil)
    }
}
