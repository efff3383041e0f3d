import Testing
@testable import SyncCore

@Suite("Cluster simulation")
struct ClusterSimulationTests {
    @Test("random joins, kills, pauses and restarts: one writer per shard, increasing epochs, owners again within 2 x TTL",
          arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomized(seed: UInt64) {
        var simulation = ClusterSimulation(seed: seed)
        simulation.run()
        #expect(simulation.violations.isEmpty, "seed \(seed): \(simulation.violations.joined(separator: "\n"))")
        let statistics = simulation.statistics
        #expect(statistics.kills >= 1 && statistics.pauses >= 1 && statistics.joins + statistics.restarts >= 1,
                "seed \(seed) exercised too little: \(statistics)")
        #expect(statistics.livenessChecks == statistics.kills)
        print("cluster simulation seed \(seed): \(statistics)")
    }
}
