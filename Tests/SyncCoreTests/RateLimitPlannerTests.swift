import SyncCore
import Testing

@Suite("Rate-limit planner")
struct RateLimitPlannerTests {
    let margin = RateLimitPlanner.Configuration().safetyMargin

    func headers(count: Int, limit: Int = 20, period: Duration = .seconds(2)) -> RateLimitHeaders {
        RateLimitHeaders(limit: limit, period: period, count: count)
    }

    @Test("before the limit is known it probes with one request at a time")
    func probes() {
        var planner = RateLimitPlanner()
        #expect(planner.nextPermit(at: .zero) == .proceed)
        let probe = planner.requestStarted(at: .zero)
        #expect(planner.nextPermit(at: .milliseconds(5)) == .waitForResponse)
        planner.responseReceived(probe, at: .milliseconds(10), headers: headers(count: 1))
        #expect(planner.limit == 20)
        #expect(planner.nextPermit(at: .milliseconds(10)) == .proceed)
    }

    @Test("the window ends a period after its first response; the budget is limit minus what was sent")
    func windowInference() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        planner.responseReceived(probe, at: .milliseconds(1000), headers: headers(count: 1))
        for _ in 0..<19 {
            #expect(planner.nextPermit(at: .milliseconds(1100)) == .proceed)
            _ = planner.requestStarted(at: .milliseconds(1100))
        }
        // 20 sent (19 still in flight): the budget is spent until the window surely reset.
        #expect(planner.nextPermit(at: .milliseconds(1200)) == .wait(until: .milliseconds(3000) + margin))
        #expect(planner.nextPermit(at: .milliseconds(3000)) == .wait(until: .milliseconds(3000) + margin))
        // After the end, the requests that were still in flight are charged to the new window.
        #expect(planner.nextPermit(at: .milliseconds(3000) + margin) == .proceed)
        #expect(planner.snapshot().usedInWindow == 19)
        _ = planner.requestStarted(at: .milliseconds(3100))
        #expect(planner.nextPermit(at: .milliseconds(3100)) == .waitForResponse)
    }

    @Test("another user of the credential, seen in the count, shrinks our budget")
    func otherUsers() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        // Someone else already made 15 requests in this window.
        planner.responseReceived(probe, at: .milliseconds(10), headers: headers(count: 16))
        var sent = 0
        while planner.nextPermit(at: .milliseconds(20)) == .proceed {
            _ = planner.requestStarted(at: .milliseconds(20))
            sent += 1
        }
        #expect(sent == 4)
    }

    @Test("a lowered limit takes effect with the response that reports it")
    func adaptsToLoweredLimit() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        planner.responseReceived(probe, at: .milliseconds(10), headers: headers(count: 1, limit: 100, period: .seconds(20)))
        var tickets: [RateLimitPlanner.Ticket] = []
        for _ in 0..<40 { tickets.append(planner.requestStarted(at: .milliseconds(20))) }
        #expect(planner.nextPermit(at: .milliseconds(20)) == .proceed)
        // Past offset 30,000 PCO allows 75; here the server says 30.
        planner.responseReceived(tickets[0], at: .milliseconds(40), headers: headers(count: 2, limit: 30, period: .seconds(20)))
        #expect(planner.limit == 30)
        #expect(planner.nextPermit(at: .milliseconds(40)) == .wait(until: .milliseconds(10) + .seconds(20) + margin))
    }

    @Test("a 429 blocks every request until Retry-After, and its reset time becomes the window end")
    func honoursRetryAfter() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        planner.responseReceived(probe, at: .milliseconds(10), headers: headers(count: 1, limit: 100, period: .seconds(20)))
        let unlucky = planner.requestStarted(at: .seconds(1))
        planner.rateLimited(unlucky, at: .seconds(1), retryAfter: .seconds(7), headers: headers(count: 101, limit: 100, period: .seconds(20)))
        #expect(planner.nextPermit(at: .seconds(2)) == .wait(until: .seconds(8)))
        #expect(planner.nextPermit(at: .seconds(8)) == .wait(until: .seconds(8) + margin))
        #expect(planner.nextPermit(at: .seconds(8) + margin) == .proceed)
        #expect(planner.snapshot().usedInWindow == 0)
    }

    @Test("a 429 while the window still has room (an injected one) blocks until Retry-After but keeps the window's count")
    func forced429KeepsAccounting() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        planner.responseReceived(probe, at: .milliseconds(10), headers: headers(count: 1, limit: 20, period: .seconds(20)))
        for _ in 0..<5 { _ = planner.requestStarted(at: .milliseconds(20)) }
        let forced = planner.requestStarted(at: .milliseconds(30))
        planner.rateLimited(forced, at: .milliseconds(40), retryAfter: .seconds(3), headers: headers(count: 7, limit: 20, period: .seconds(20)))
        #expect(planner.nextPermit(at: .seconds(1)) == .wait(until: .milliseconds(40) + .seconds(3)))
        #expect(planner.nextPermit(at: .milliseconds(40) + .seconds(3)) == .proceed)
        #expect(planner.snapshot().usedInWindow == 7)
    }

    @Test("a 429 without Retry-After waits for the estimated window end")
    func retryAfterMissing() {
        var planner = RateLimitPlanner()
        let probe = planner.requestStarted(at: .zero)
        planner.responseReceived(probe, at: .seconds(1), headers: headers(count: 1))
        let other = planner.requestStarted(at: .milliseconds(1500))
        planner.rateLimited(other, at: .milliseconds(1600), retryAfter: nil, headers: headers(count: 25))
        #expect(planner.nextPermit(at: .milliseconds(1700)) == .wait(until: .seconds(3)))
    }

    @Test("20 per 2 s, 4 concurrent requesters, 200 s: never a 429 and at least 95 % of the budget used")
    func scaledLimitSimulation() {
        var simulation = PlannerSimulation(
            planner: RateLimitPlanner(), server: FixedWindowServer(limit: 20, period: .seconds(2)),
            requesters: 4, latency: 5...40
        )
        let result = simulation.run(for: .seconds(200))
        #expect(result.rejected == 0)
        #expect(result.maxCountSeen <= 20)
        #expect(result.utilisation >= 0.95, "used \(result.sent) of \(result.capacity)")
    }

    @Test("PCO's 100 per 20 s, 8 concurrent requesters, 20 minutes: never a 429 and at least 97 % of the budget used")
    func pcoLimitSimulation() {
        var simulation = PlannerSimulation(
            planner: RateLimitPlanner(), server: FixedWindowServer(limit: 100, period: .seconds(20)),
            requesters: 8, latency: 20...300
        )
        let result = simulation.run(for: .seconds(1200))
        #expect(result.rejected == 0)
        #expect(result.utilisation >= 0.97, "used \(result.sent) of \(result.capacity)")
    }

    @Test("when the server lowers the limit mid-run, 429s stop within one window")
    func loweredLimitSimulation() {
        var simulation = PlannerSimulation(
            planner: RateLimitPlanner(), server: FixedWindowServer(limit: 20, period: .seconds(2)),
            requesters: 4, latency: 5...40
        )
        var rejectedAfterAdaptation = 0
        var lastRejected = 0
        simulation.onStep = { now, server in
            if now == .seconds(30) { server.limit = 8 }
        }
        var result = simulation.run(for: .seconds(34))
        lastRejected = result.rejected
        // Continue: from here on the planner knows the lower limit.
        simulation.onStep = { _, _ in }
        result = simulation.run(for: .seconds(60))
        rejectedAfterAdaptation = result.rejected
        #expect(lastRejected <= 20)
        #expect(rejectedAfterAdaptation == 0)
        #expect(simulation.planner.limit == 8)
    }
}
