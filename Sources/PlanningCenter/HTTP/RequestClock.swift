/// The monotonic time the HTTP layer plans with: instants as `Duration` offsets from an origin, and a
/// way to sleep until one. Injected so the limiter shell can run on a manual clock in tests.
public protocol RequestClock: Sendable {
    var now: Duration { get }
    func sleep(until deadline: Duration) async throws
}

/// The system's continuous clock, measured from the moment this value was made.
public struct ContinuousRequestClock: RequestClock {
    let origin: ContinuousClock.Instant

    public init() {
        origin = ContinuousClock.now
    }

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(until deadline: Duration) async throws {
        try await Task.sleep(until: origin + deadline, clock: .continuous)
    }
}
