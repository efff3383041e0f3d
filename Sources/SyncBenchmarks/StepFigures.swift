/// What the journal benchmark measures of any way of committing steps, ours or a peer's: latency of
/// one step at a time, and throughput with several workflows committing at once.
public struct StepFigures: Sendable, Hashable {
    public var serialP50Milliseconds: Double
    public var serialP99Milliseconds: Double
    public var concurrentStepsPerSecond: Double

    public init(serialP50Milliseconds: Double, serialP99Milliseconds: Double, concurrentStepsPerSecond: Double) {
        self.serialP50Milliseconds = serialP50Milliseconds
        self.serialP99Milliseconds = serialP99Milliseconds
        self.concurrentStepsPerSecond = concurrentStepsPerSecond
    }

    /// The median of each figure over runs (each figure on its own: the medians may come from different runs).
    static func median(of runs: [StepFigures]) -> StepFigures? {
        guard let p50 = Statistics.median(runs.map(\.serialP50Milliseconds)),
              let p99 = Statistics.median(runs.map(\.serialP99Milliseconds)),
              let throughput = Statistics.median(runs.map(\.concurrentStepsPerSecond))
        else { return nil }
        return StepFigures(serialP50Milliseconds: p50, serialP99Milliseconds: p99, concurrentStepsPerSecond: throughput)
    }
}
