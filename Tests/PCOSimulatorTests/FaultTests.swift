import Foundation
import Testing

/// Faults set at start or at run time, and seeded random mutations that replay identically.
@Suite struct FaultTests {
    @Test func serverErrorsAndCorruptBodiesAtRunTime() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 30 }
        defer { Task { await sim.stop() } }
        #expect(try await sim.control(.POST, "/__sim/faults", json: ["error_rate_5xx": 1]).status == 200)
        let failed = try await sim.get("/people/v2/people")
        #expect([500, 502, 503, 504].contains(failed.status))
        #expect((failed.object["errors"] as? [[String: Any]])?.first?["status"] as? String == String(failed.status))
        #expect(failed.headers["x-pco-api-request-rate-count"] != nil, "rate headers on every response")

        _ = try await sim.control(.POST, "/__sim/faults", json: ["error_rate_5xx": 0, "malformed_rate": 1])
        let malformed = try await sim.get("/people/v2/people")
        #expect(malformed.status == 200)
        #expect(malformed.json == nil, "malformed body does not parse")

        _ = try await sim.control(.POST, "/__sim/faults", json: ["malformed_rate": 0, "truncated_rate": 1])
        let truncated = try await sim.get("/people/v2/people")
        #expect(truncated.json == nil, "truncated body does not parse")

        let settings = try await sim.control(.GET, "/__sim/faults").object
        #expect(settings["truncated_rate"] as? Double == 1)
        #expect(try await sim.control(.POST, "/__sim/faults", json: ["no_such_knob": 1]).status == 400)
        #expect(try await sim.control(.POST, "/__sim/faults", json: ["error_rate_5xx": 2]).status == 400)
    }

    @Test func seededRandomMutationsReplay() async throws {
        func run() async throws -> [[String: String]] {
            let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 50 }
            defer { Task { await sim.stop() } }
            let reply = try await sim.control(.POST, "/__sim/mutate", json: ["org": "1", "random": ["count": 25, "seed": 7]])
            let changes = reply.object["changes"] as? [[String: Any]] ?? []
            // `updated_at` is wall-clock time; the rest must be identical.
            return changes.map { ["type": $0["type"] as? String ?? "", "id": $0["id"] as? String ?? "", "op": $0["op"] as? String ?? ""] }
        }
        let first = try await run()
        let second = try await run()
        #expect(first.count >= 20)
        #expect(first == second)
        #expect(Set(first.compactMap { $0["op"] }).isSuperset(of: ["updated", "created"]))
    }
}
