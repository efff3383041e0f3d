/// Running totals of one client's (or one run's) requests, for progress reports and benchmarks.
/// Share one instance between clients to add them up; read it with ``snapshot()``.
public final class PCORequestCounters: Sendable {
    public struct Snapshot: Sendable, Hashable, CustomStringConvertible {
        /// Requests sent (every attempt).
        public var requests = 0
        /// Responses with a 2xx status.
        public var succeeded = 0
        /// 429 responses.
        public var rateLimited = 0
        /// 5xx responses.
        public var serverErrors = 0
        /// Attempts that got no response.
        public var networkErrors = 0
        /// 2xx bodies that did not decode.
        public var malformedBodies = 0
        /// Requests sent again after a failure or a 429.
        public var retries = 0
        /// OAuth refreshes performed after a 401.
        public var unauthorizedRefreshes = 0
        /// Time spent waiting for a rate-limit permit, summed over requests.
        public var rateLimitWait: Duration = .zero

        public init() {}

        public var description: String {
            "requests=\(requests) ok=\(succeeded) 429=\(rateLimited) 5xx=\(serverErrors) network=\(networkErrors) "
                + "malformed=\(malformedBodies) retries=\(retries) refreshes=\(unauthorizedRefreshes) waited=\(rateLimitWait)"
        }
    }

    private let state = Locked(Snapshot())

    public init() {}

    public func snapshot() -> Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}
