import Testing
@testable import SyncRedis

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test("each failure doubles the ceiling, the delay stays between half and all of it, capped at the maximum")
    func growsWithinJitterBounds() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SplitMix64(seed: 7)
        let ceilings: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1), .seconds(1)]
        for ceiling in ceilings {
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= ceiling / 2 - .microseconds(1) && delay <= ceiling + .microseconds(1), "\(delay) outside \(ceiling / 2)...\(ceiling)")
        }
        #expect(backoff.consecutiveFailures == ceilings.count)
    }

    @Test("after a success the next failure starts from the initial delay again")
    func resetStartsOver() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(10))
        var generator = SplitMix64(seed: 1)
        for _ in 0..<6 { _ = backoff.nextDelay(using: &generator) }
        backoff.reset()
        #expect(backoff.nextDelay(using: &generator) <= .milliseconds(100))
    }

    @Test("the jitter is random: the same seed repeats the delays, another seed does not")
    func jitterComesFromTheGenerator() {
        func delays(seed: UInt64) -> [Duration] {
            var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(2))
            var generator = SplitMix64(seed: seed)
            return (0..<8).map { _ in backoff.nextDelay(using: &generator) }
        }
        #expect(delays(seed: 42) == delays(seed: 42))
        #expect(delays(seed: 42) != delays(seed: 43))
        #expect(Set(delays(seed: 42).suffix(4)).count > 1, "capped delays must still be jittered")
    }

    @Test("thousands of failures neither overflow nor exceed the maximum")
    func noOverflow() {
        var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(30))
        var generator = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            #expect(backoff.nextDelay(using: &generator) <= .seconds(30))
        }
    }
}
