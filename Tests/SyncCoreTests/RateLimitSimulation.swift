import SyncCore

/// PCO's limiter as the simulator and the docs describe it: a fixed window per credential that opens with
/// the first request after the previous one ended, counts every request (rejected ones too) and answers
/// 429 with `Retry-After` = whole seconds to the reset, rounded up.
struct FixedWindowServer {
    var limit: Int
    var period: Duration
    var windowStart: Duration?
    var count = 0

    struct Answer {
        var headers: RateLimitHeaders
        var retryAfter: Duration?
    }

    mutating func requestArrived(at now: Duration) -> Answer {
        if let start = windowStart, now < start + period {
            count += 1
        } else {
            windowStart = now
            count = 1
        }
        let headers = RateLimitHeaders(limit: limit, period: period, count: count)
        guard count > limit, let start = windowStart else { return Answer(headers: headers, retryAfter: nil) }
        let remaining = start + period - now
        let (seconds, attoseconds) = remaining.components
        return Answer(headers: headers, retryAfter: .seconds(seconds + (attoseconds > 0 ? 1 : 0)))
    }
}

/// Drives a planner against a ``FixedWindowServer`` in 1 ms steps with several concurrent requesters and
/// a seeded network latency: a manual clock, no sleeping.
struct PlannerSimulation {
    struct Result {
        var sent = 0
        var rejected = 0
        var maxCountSeen = 0
        var duration: Duration = .zero
        /// Requests the server could have accepted in `duration`.
        var capacity = 0
        var utilisation: Double { Double(sent - rejected) / Double(capacity) }
    }

    var planner: RateLimitPlanner
    var server: FixedWindowServer
    var requesters: Int
    var latency: ClosedRange<Int>  // milliseconds, round trip
    var generator = SplitMix64(seed: 42)
    /// Called at each step, e.g. to lower the server's limit at some moment.
    var onStep: (Duration, inout FixedWindowServer) -> Void = { _, _ in }

    struct Flight {
        var ticket: RateLimitPlanner.Ticket
        var arrivesAt: Duration
        var respondsAt: Duration
        var answer: FixedWindowServer.Answer?
    }

    mutating func run(for total: Duration) -> Result {
        var result = Result()
        var flights: [Flight] = []
        var idle = requesters
        var now = Duration.zero
        var firstArrival: Duration?
        while now < total {
            onStep(now, &server)
            for index in flights.indices where flights[index].answer == nil && flights[index].arrivesAt <= now {
                let answer = server.requestArrived(at: now)
                firstArrival = firstArrival ?? now
                result.maxCountSeen = max(result.maxCountSeen, answer.headers.count)
                if answer.retryAfter != nil { result.rejected += 1 }
                flights[index].answer = answer
            }
            for flight in flights where flight.respondsAt <= now {
                guard let answer = flight.answer else { continue }
                if answer.retryAfter != nil {
                    planner.rateLimited(flight.ticket, at: now, retryAfter: answer.retryAfter, headers: answer.headers)
                } else {
                    planner.responseReceived(flight.ticket, at: now, headers: answer.headers)
                }
                idle += 1
            }
            flights.removeAll { $0.respondsAt <= now && $0.answer != nil }
            while idle > 0, planner.nextPermit(at: now) == .proceed {
                let ticket = planner.requestStarted(at: now)
                let roundTrip = Int.random(in: latency, using: &generator)
                let oneWay = roundTrip / 2
                flights.append(Flight(ticket: ticket, arrivesAt: now + .milliseconds(oneWay), respondsAt: now + .milliseconds(roundTrip)))
                result.sent += 1
                idle -= 1
            }
            now += .milliseconds(1)
        }
        let active = total - (firstArrival ?? .zero)
        result.duration = active
        result.capacity = Int((active / server.period).rounded(.up)) * server.limit
        return result
    }
}
