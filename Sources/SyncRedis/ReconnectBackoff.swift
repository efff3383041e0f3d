/// How long to wait before the next reconnection attempt: after the n-th consecutive failure, a random
/// duration between half and all of `initial * 2^n`, capped at `maximum`. The jitter keeps the nodes of a
/// cluster from reconnecting in lockstep after a Redis restart. Pure: the random source is passed in.
struct ReconnectBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private(set) var consecutiveFailures = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The wait after one more failed attempt.
    mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        // 2^30 * any sensible initial delay is far past any maximum; stopping there avoids overflow.
        let exponent = min(consecutiveFailures, 30)
        consecutiveFailures += 1
        let ceiling = min(Self.seconds(initial) * Double(1 << exponent), Self.seconds(maximum))
        guard ceiling > 0 else { return .zero }
        return .seconds(Double.random(in: (ceiling / 2)...ceiling, using: &generator))
    }

    /// A connection succeeded: the next failure starts again from `initial`.
    mutating func reset() {
        consecutiveFailures = 0
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
