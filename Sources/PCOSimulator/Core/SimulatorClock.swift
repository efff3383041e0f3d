import Foundation

/// The simulator's sense of time, injected so that the store, the rate limiter and the OAuth server
/// can be driven by tests without sleeping.
public protocol SimulatorClock: Sendable {
    /// Wall-clock time in seconds since 1970 (what `updated_at` and token expiry are expressed in).
    func wallSeconds() -> Double
    /// Monotonic seconds from an arbitrary origin (what rate-limit windows are measured in).
    func monotonicSeconds() -> Double
}

/// The real clock: the system's wall clock and its monotonic clock.
public struct SystemSimulatorClock: SimulatorClock {
    public init() {}

    public func wallSeconds() -> Double {
        Date().timeIntervalSince1970
    }

    public func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A clock that only moves when told to; for tests of the rate limiter, tokens and mutations.
public final class ManualSimulatorClock: SimulatorClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Double
    private var monotonic: Double

    public init(wallSeconds: Double, monotonicSeconds: Double = 1000) {
        self.wall = wallSeconds
        self.monotonic = monotonicSeconds
    }

    public func wallSeconds() -> Double { lock.withLock { wall } }
    public func monotonicSeconds() -> Double { lock.withLock { monotonic } }

    /// Moves both clocks forward.
    public func advance(by seconds: Double) {
        lock.withLock {
            wall += seconds
            monotonic += seconds
        }
    }
}
