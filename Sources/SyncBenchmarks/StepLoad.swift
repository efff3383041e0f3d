import Foundation

/// Drives a way of committing steps the same way for ours and the in-process floor: a serial
/// workflow timing each step, then `workflows` workflows committing concurrently.
struct StepLoad: Sendable {
    /// Commits step `number` of `workflowID`; returns when it is durable.
    typealias Step = @Sendable (_ workflowID: String, _ number: Int) async throws -> Void

    var serialSteps: Int
    var workflows: Int
    var stepsPerWorkflow: Int
    /// Untimed steps first, serial and then from every concurrent workflow, so that every pooled
    /// connection is open before the clock starts.
    var warmupSteps: Int = Self.defaultWarmupSteps
    static let defaultWarmupSteps = 20

    func measure(label: String, _ step: @escaping Step) async throws -> StepFigures {
        let clock = ContinuousClock()
        let run = UUID().uuidString.prefix(8).lowercased()
        for number in 0..<warmupSteps { try await step("bench/\(label)/\(run)/warmup", number) }
        try await concurrently(workflows: workflows, steps: 2, prefix: "bench/\(label)/\(run)/warmup-concurrent", step)

        var latencies: [Double] = []
        latencies.reserveCapacity(serialSteps)
        let serialID = "bench/\(label)/\(run)/serial"
        for number in 0..<serialSteps {
            let started = clock.now
            try await step(serialID, number)
            latencies.append((clock.now - started).milliseconds)
        }

        let started = clock.now
        try await concurrently(workflows: workflows, steps: stepsPerWorkflow, prefix: "bench/\(label)/\(run)/concurrent", step)
        let elapsed = (clock.now - started).seconds

        return StepFigures(
            serialP50Milliseconds: Statistics.median(latencies) ?? .nan,
            serialP99Milliseconds: Statistics.percentile(latencies, 99) ?? .nan,
            concurrentStepsPerSecond: Double(workflows * stepsPerWorkflow) / elapsed
        )
    }

    private func concurrently(workflows: Int, steps: Int, prefix: String, _ step: @escaping Step) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for workflow in 0..<workflows {
                let workflowID = "\(prefix)/\(workflow)"
                group.addTask {
                    for number in 0..<steps { try await step(workflowID, number) }
                }
            }
            try await group.waitForAll()
        }
    }
}
