import Foundation
import Testing
@testable import PCOSimulator

/// PCO's fixed-window limit per credential: headers on every response, 429 with Retry-After and
/// PCO's body, rejected requests counted.
@Suite struct RateLimitTests {
    @Test func limiterCountsRejectedRequestsAndResetsAtWindowEnd() {
        var limiter = RateLimiter()
        let policy = RateLimitPolicy(limit: 3, periodSeconds: 2)
        let t0 = 100.0
        let decisions = (0 ..< 5).map { i in limiter.requestArrived(credential: "a", offset: 0, now: t0 + Double(i) * 0.1, policy: policy) }
        #expect(decisions.map(\.allowed) == [true, true, true, false, false])
        #expect(decisions.map(\.count) == [1, 2, 3, 4, 5])
        #expect(decisions[4].retryAfterSeconds == 2)  // 1.6 s left, rounded up
        #expect(limiter.requestArrived(credential: "b", offset: 0, now: t0 + 0.5, policy: policy).allowed, "per credential")
        let after = limiter.requestArrived(credential: "a", offset: 0, now: t0 + 2.0, policy: policy)
        #expect(after.allowed && after.count == 1)
        let deep = limiter.requestArrived(credential: "c", offset: 40_000, now: t0, policy: RateLimitPolicy())
        #expect(deep.limit == 75)
    }

    @Test func answers429WithHeadersOverHTTP() async throws {
        let sim = try await SimulatorHarness.start { config in
            config.faults.rateLimit = RateLimitPolicy(limit: 3, periodSeconds: 5)
            config.peoplePerOrg = 20
        }
        defer { Task { await sim.stop() } }
        var replies: [SimulatorHarness.Reply] = []
        for _ in 0 ..< 5 { replies.append(try await sim.get("/people/v2/people?per_page=1")) }
        #expect(replies.map(\.status) == [200, 200, 200, 429, 429])
        for (i, reply) in replies.enumerated() {
            #expect(reply.headers["x-pco-api-request-rate-limit"] == "3")
            #expect(reply.headers["x-pco-api-request-rate-period"] == "5 seconds")
            #expect(reply.headers["x-pco-api-request-rate-count"] == String(i + 1))
        }
        let rejected = replies[4]
        let retryAfter = try #require(rejected.headers["retry-after"].flatMap { Int($0) })
        #expect((1 ... 5).contains(retryAfter))
        #expect(rejected.headers["content-type"] == "application/json; charset=utf-8")
        let error = (rejected.object["errors"] as? [[String: Any]])?.first
        #expect(error?["code"] as? String == "429")
        #expect(error?["detail"] as? String == "Rate limit exceeded: 5 of 3 requests per 5 seconds")

        // Another credential (org 2 does not exist here, so use OAuth of the same org): its own bucket.
        let token = try #require(sim.simulator.currentTokens(org: "1")?.accessToken)
        let viaOAuth = try await sim.request(.GET, "/people/v2/people?per_page=1", authorization: "Bearer \(token)")
        #expect(viaOAuth.status == 200)
        #expect(viaOAuth.headers["x-pco-api-request-rate-count"] == "1")

        // Run-time reconfiguration: bare period format, force 429s.
        let set = try await sim.control(.POST, "/__sim/faults", json: ["period_format": "bare", "force_429_count": 1, "rate_limit": ["limit": 100, "period_seconds": 20]])
        #expect(set.status == 200)
        let forced = try await sim.get("/people/v2/people?per_page=1")
        #expect(forced.status == 429)
        #expect(forced.headers["x-pco-api-request-rate-period"] == "20")
        #expect(try await sim.get("/people/v2/people?per_page=1").status == 200)
    }
}
