/// Runs a figure and its peers in turn, `runs` times each, rotating which side goes first, so that
/// a machine whose speed drifts during the benchmark (it does, here: ≈1.6× between hours) slows
/// every side alike instead of whichever happened to run last.
struct AlternatingRuns<Sample: Sendable> {
    struct Side {
        var name: String
        var measure: () async throws -> Sample
    }

    var runs: Int
    /// Whether every side first runs once untimed (connections opened, statements planned, caches warm).
    var warmUp: Bool

    init(runs: Int, warmUp: Bool = false) {
        precondition(runs >= 1, "at least one run")
        self.runs = runs
        self.warmUp = warmUp
    }

    /// The samples of each side by name, in run order. Run `i` starts with side `i mod count`.
    func measure(_ sides: [Side], progress: (String) -> Void = { _ in }) async throws -> [String: [Sample]] {
        if warmUp {
            for side in sides {
                progress("warm-up: \(side.name)")
                _ = try await side.measure()
            }
        }
        var samples: [String: [Sample]] = [:]
        for run in 0..<runs {
            for offset in sides.indices {
                let side = sides[(run + offset) % sides.count]
                progress("run \(run + 1)/\(runs): \(side.name)")
                samples[side.name, default: []].append(try await side.measure())
            }
        }
        return samples
    }
}
