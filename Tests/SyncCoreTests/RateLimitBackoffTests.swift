import SyncCore
import Testing

@Suite("Backoff policy")
struct RateLimitBackoffTests {
    @Test("ceilings double from the base and stop at the cap")
    func ceilings() {
        let policy = BackoffPolicy(maxRetries: 8, base: .milliseconds(100), cap: .seconds(1))
        #expect((1...6).map { policy.ceiling(afterFailures: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
    }

    @Test("every delay lies within its ceiling, and retries stop after maxRetries")
    func bounded() {
        let policy = BackoffPolicy(maxRetries: 5, base: .milliseconds(250), cap: .seconds(10))
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            for failures in 1...5 {
                let delay = policy.delay(afterFailures: failures, using: &generator)
                #expect(delay != nil)
                #expect(delay! >= .zero && delay! <= policy.ceiling(afterFailures: failures))
            }
            #expect(policy.delay(afterFailures: 6, using: &generator) == nil)
        }
        #expect(policy.delay(afterFailures: 0, using: &generator) == nil)
        var none = SplitMix64(seed: 1)
        #expect(BackoffPolicy(maxRetries: 0).delay(afterFailures: 1, using: &none) == nil)
    }

    @Test("the same seed gives the same delays; another seed gives others (the jitter is real)")
    func deterministicJitter() {
        let policy = BackoffPolicy(maxRetries: 5)
        func delays(seed: UInt64) -> [Duration] {
            var generator = SplitMix64(seed: seed)
            return (1...5).compactMap { policy.delay(afterFailures: $0, using: &generator) }
        }
        #expect(delays(seed: 99) == delays(seed: 99))
        #expect(delays(seed: 99) != delays(seed: 100))
        // Full jitter spreads the draws over the whole range rather than clustering at the ceiling.
        var generator = SplitMix64(seed: 3)
        let draws = (0..<1000).compactMap { _ in policy.delay(afterFailures: 3, using: &generator) }
        let ceiling = policy.ceiling(afterFailures: 3)
        #expect(draws.contains { $0 < ceiling / 4 })
        #expect(draws.contains { $0 > ceiling * 3 / 4 })
    }
}
