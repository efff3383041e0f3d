/// Order statistics of measured samples: benchmarks report medians of runs and percentiles of
/// per-step latencies, never means (one slow fsync must not move the figure).
public enum Statistics {
    /// The median; the mean of the two middle values for an even count. Nil for no samples.
    public static func median(_ samples: [Double]) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }

    /// The `p`-th percentile (0...100) by the nearest-rank method. Nil for no samples.
    public static func percentile(_ samples: [Double], _ p: Double) -> Double? {
        precondition((0...100).contains(p), "percentile \(p) outside 0...100")
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

extension Duration {
    /// The duration in (fractional) milliseconds.
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
    }

    /// The duration in (fractional) seconds.
    var seconds: Double { milliseconds / 1_000 }
}
