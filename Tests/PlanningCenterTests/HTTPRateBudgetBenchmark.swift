import Foundation
import PCOSimulator
import PlanningCenter
import SyncCore
import Testing

/// The rate-budget benchmark: PCO's real limit (100 per 20 s) for 100 s of saturation. Runs only with
/// `SYNC_BENCH=1` (it takes ~100 s); prints requests, 429s, duration and budget use.
@Suite("Rate budget benchmark")
struct HTTPRateBudgetBenchmark {
    @Test("100 requests per 20 s for ≥ 60 s: budget use and 429s", .enabled(if: ProcessInfo.processInfo.environment["SYNC_BENCH"] == "1"))
    func pcoLimit() async throws {
        try await HTTPSimulatorFixture.with({
            $0.peoplePerOrg = 125
            $0.faults.rateLimit = .pcoDefault
        }) { fixture in
            let recorder = RequestEventRecorder()
            let counters = PCORequestCounters()
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials, counters: counters, recorder: recorder)
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for try await _ in client.pages(PCOListRequest(path: "/people/v2/people", perPage: 1)) {}
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let log = try await fixture.requestLog().filter { $0.path.hasPrefix("/people/") }
            let rejected = log.filter { $0.status == 429 }.count
            let sends = recorder.events.map(\.sentAt).sorted()
            let span = sends.last! - sends.first! + .seconds(20)
            let use = Double(log.count - rejected) / (100.0 * (span / .seconds(20)))
            print("""
                BENCH rate budget at 100/20s: requests=\(log.count) 429s=\(rejected) (\(String(format: "%.2f", Double(rejected) * 100 / Double(log.count))) %) \
                wall=\(elapsed) budget-span=\(span) budget-use=\(String(format: "%.2f", use * 100)) % \
                counters: \(counters.snapshot())
                """)
            #expect(use >= 0.97)
            #expect(Double(rejected) <= 0.01 * Double(log.count))
        }
    }
}
