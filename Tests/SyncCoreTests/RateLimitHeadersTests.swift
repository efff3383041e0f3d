import SyncCore
import Testing

@Suite("Rate-limit headers")
struct RateLimitHeadersTests {
    func headers(_ values: [String: String]) -> RateLimitHeaders? {
        let lowered = Dictionary(uniqueKeysWithValues: values.map { ($0.key.lowercased(), $0.value) })
        return RateLimitHeaders(header: { lowered[$0.lowercased()] })
    }

    @Test("the period is read as PCO sends it now (`20 seconds`) and as recorded in 2019 (`20`)")
    func periodForms() {
        #expect(RateLimitHeaders.parsePeriod("20") == .seconds(20))
        #expect(RateLimitHeaders.parsePeriod("20 seconds") == .seconds(20))
        #expect(RateLimitHeaders.parsePeriod(" 2 seconds ") == .seconds(2))
        #expect(RateLimitHeaders.parsePeriod("1 minute") == .seconds(60))
        #expect(RateLimitHeaders.parsePeriod("0") == nil)
        #expect(RateLimitHeaders.parsePeriod("soon") == nil)
        #expect(RateLimitHeaders.parsePeriod("20 fortnights") == nil)
    }

    @Test("all three headers give the figures, names compared case-insensitively")
    func parsesRecordedHeaders() {
        let recorded = headers([
            "X-PCO-API-Request-Rate-Count": "2", "X-PCO-API-Request-Rate-Limit": "100", "X-PCO-API-Request-Rate-Period": "20",
        ])
        #expect(recorded == RateLimitHeaders(limit: 100, period: .seconds(20), count: 2))
        let sample429 = headers([
            "x-pco-api-request-rate-count": "118", "x-pco-api-request-rate-limit": "100", "x-pco-api-request-rate-period": "20 seconds",
        ])
        #expect(sample429 == RateLimitHeaders(limit: 100, period: .seconds(20), count: 118))
    }

    @Test("a missing or unreadable header means no figures at all")
    func incompleteHeaders() {
        #expect(headers(["X-PCO-API-Request-Rate-Limit": "100", "X-PCO-API-Request-Rate-Period": "20"]) == nil)
        #expect(headers(["X-PCO-API-Request-Rate-Limit": "lots", "X-PCO-API-Request-Rate-Period": "20", "X-PCO-API-Request-Rate-Count": "1"]) == nil)
        #expect(headers(["X-PCO-API-Request-Rate-Limit": "0", "X-PCO-API-Request-Rate-Period": "20", "X-PCO-API-Request-Rate-Count": "1"]) == nil)
    }

    @Test("Retry-After in seconds, fractional tolerated, HTTP-date not understood")
    func retryAfter() {
        #expect(RateLimitHeaders.parseRetryAfter("19") == .seconds(19))
        #expect(RateLimitHeaders.parseRetryAfter("1.5") == .milliseconds(1500))
        #expect(RateLimitHeaders.parseRetryAfter("0") == .zero)
        #expect(RateLimitHeaders.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(RateLimitHeaders.parseRetryAfter("-3") == nil)
    }
}
