import Foundation
import PCOSimulator
import PlanningCenter
import SyncCore
import Testing

/// The HTTP client against the simulator over real HTTP: rate budget, 429s, 5xx, bodies, errors.
@Suite("PCO HTTP client against the simulator")
struct HTTPClientIntegrationTests {
    static let people = PCOListRequest(path: "/people/v2/people", perPage: 1)

    /// Pages through `request` and returns the ids of every record in order.
    static func collectIDs(_ client: PCOClient, _ request: PCOListRequest, from offset: Int = 0) async throws -> [String] {
        var ids: [String] = []
        for try await page in client.pages(request, from: offset) {
            ids += page.document.resources.map(\.id)
        }
        return ids
    }

    @Test("20 requests per 2 s, 4 concurrent page streams, 220 requests: zero 429s and ≥ 95 % of the budget used")
    func scaledRateLimit() async throws {
        try await HTTPSimulatorFixture.with({
            $0.peoplePerOrg = 55
            $0.faults.rateLimit = RateLimitPolicy(limit: 20, periodSeconds: 2)
        }) { fixture in
            let recorder = RequestEventRecorder()
            let counters = PCORequestCounters()
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            // One limiter for the credential, shared by all four streams (as workflows of one org share it).
            let client = fixture.client(credentials: credentials, counters: counters, recorder: recorder)
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await Self.collectIDs(client, Self.people) } }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            for ids in results { #expect(Set(ids).count == 55) }

            let log = try await fixture.requestLog().filter { $0.path.hasPrefix("/people/") }
            #expect(log.count == 220)
            #expect(log.filter { $0.status == 429 }.isEmpty, "the server answered 429")
            #expect(log.map(\.rateCount).max() ?? 0 <= 20)
            #expect(counters.snapshot().rateLimited == 0)

            // Budget use: requests / what the limit allows between the first send and the end of the last window.
            let sends = recorder.events.map(\.sentAt).sorted()
            let span = sends.last! - sends.first! + .seconds(2)
            let capacity = 20.0 * (span / .seconds(2))
            let use = Double(sends.count) / capacity
            print("rate budget 20/2s: \(sends.count) requests in \(span), budget use \(String(format: "%.1f", use * 100)) %")
            #expect(use >= 0.95, "budget use \(use)")
        }
    }

    @Test("forced 429s: every Retry-After is honoured before the next request, and the fetch completes")
    func honoursRetryAfter() async throws {
        try await HTTPSimulatorFixture.with({
            $0.peoplePerOrg = 30
            $0.faults.rateLimit = RateLimitPolicy(limit: 20, periodSeconds: 2)
        }) { fixture in
            let recorder = RequestEventRecorder()
            let counters = PCORequestCounters()
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials, counters: counters, recorder: recorder)
            var ids: [String] = []
            var pages = 0
            for try await page in client.pages(Self.people) {
                ids += page.document.resources.map(\.id)
                pages += 1
                if pages == 5 { try await fixture.setFaults(#"{"force_429_count": 3}"#) }
            }
            #expect(Set(ids).count == 30)

            let log = try await fixture.requestLog().filter { $0.path.hasPrefix("/people/") }
            #expect(log.filter { $0.status == 429 }.count == 3)
            let events = recorder.events
            let limited = events.filter { $0.status == 429 }
            #expect(limited.count == 3)
            #expect(counters.snapshot().rateLimited == 3)
            for event in limited {
                let retryAfter = try #require(event.retryAfter)
                let early = events.filter { $0.sentAt > event.completedAt && $0.sentAt < event.completedAt + retryAfter }
                #expect(early.isEmpty, "requests sent \(early.map { $0.sentAt - event.completedAt }) after a 429 asking for \(retryAfter)")
            }
        }
    }

    @Test("10 % of requests answer 5xx: the fetch completes with every record, through bounded retries")
    func survivesServerErrors() async throws {
        try await HTTPSimulatorFixture.with({
            $0.peoplePerOrg = 100
            // A generous limit: the client obeys the advertised one even when the server does not enforce it.
            $0.faults.rateLimit = RateLimitPolicy(limit: 1000, periodSeconds: 1)
            $0.faults.errorRate5xx = 0.1
        }) { fixture in
            let counters = PCORequestCounters()
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials, counters: counters)
            let ids = try await Self.collectIDs(client, PCOListRequest(path: "/people/v2/people", perPage: 1))
            #expect(Set(ids).count == 100)
            let log = try await fixture.requestLog().filter { $0.path.hasPrefix("/people/") }
            let failures = log.filter { $0.status >= 500 }.count
            #expect(failures > 0)
            #expect(counters.snapshot().serverErrors == failures)
            #expect(counters.snapshot().retries == failures)
        }
    }

    @Test("malformed JSON: an error naming the URL after the bounded retries, not a crash; truncated bodies are retried")
    func malformedBodies() async throws {
        try await HTTPSimulatorFixture.with({
            $0.faults.rateLimit.enabled = false
            $0.faults.malformedRate = 1
        }) { fixture in
            let counters = PCORequestCounters()
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials, backoff: BackoffPolicy(maxRetries: 2, base: .milliseconds(1), cap: .milliseconds(5)),
                                        counters: counters)
            let error = await #expect(throws: PCORequestError.self) {
                _ = try await Self.collectIDs(client, PCOListRequest(path: "/people/v2/people", perPage: 10))
            }
            #expect(error?.code == .malformedBody)
            #expect(error?.url == fixture.baseURL + "/people/v2/people?per_page=10&offset=0")
            #expect(error?.attempts == 3)
            #expect(error.map { "\($0)".contains("/people/v2/people?per_page=10&offset=0") } == true)
            #expect(counters.snapshot().malformedBodies == 3)

            // Occasional truncated bodies are transient: the fetch still completes.
            try await fixture.setFaults(#"{"malformed_rate": 0, "truncated_rate": 0.3}"#)
            let ids = try await Self.collectIDs(client, PCOListRequest(path: "/people/v2/people", perPage: 5))
            #expect(Set(ids).count == 40)
        }
    }

    @Test("other 4xx: a permanent error with PCO's code and detail, sent once")
    func permanentClientError() async throws {
        try await HTTPSimulatorFixture.with({ $0.faults.rateLimit.enabled = false }) { fixture in
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials)
            let error = await #expect(throws: PCORequestError.self) {
                _ = try await client.get(path: "/people/v2/people", query: [PCOQueryItem("order", "shoe_size")])
            }
            #expect(error?.code == .rejected)
            #expect(error?.status == 400)
            #expect(error?.pcoCode != nil)
            #expect(error?.detail.isEmpty == false)
            #expect(error?.attempts == 1)
            #expect(error?.orgID == fixture.org.id)
            let log = try await fixture.requestLog().filter { $0.path.hasPrefix("/people/") }
            #expect(log.count == 1)
        }
    }

    @Test("a stream resumes from a saved offset, builds next URLs on its own base URL, and prefetches one page")
    func resumesFromOffset() async throws {
        try await HTTPSimulatorFixture.with({ $0.faults.rateLimit.enabled = false }) { fixture in
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials)
            let all = try await Self.collectIDs(client, PCOListRequest(path: "/people/v2/people", perPage: 7))
            #expect(all.count == 40)
            var offsets: [Int] = []
            var resumed: [String] = []
            for try await page in client.pages(PCOListRequest(path: "/people/v2/people", perPage: 7), from: 21) {
                offsets.append(page.offset)
                #expect(page.url.hasPrefix(fixture.baseURL))
                resumed += page.document.resources.map(\.id)
            }
            #expect(offsets == [21, 28, 35])
            #expect(resumed == Array(all[21...]))

            // While the consumer holds page 1, page 2 is already being fetched.
            var iterator = client.pages(PCOListRequest(path: "/groups/v2/groups", perPage: 2)).makeAsyncIterator()
            _ = try await iterator.next()
            try await Task.sleep(for: .milliseconds(300))
            let groupRequests = try await fixture.requestLog().filter { $0.path.hasPrefix("/groups/v2/groups") }
            #expect(groupRequests.count == 2)
        }
    }
}
