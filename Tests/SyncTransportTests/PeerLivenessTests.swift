import ClusterProtocol
import Testing

/// A hand-driven instant, so liveness is tested without waiting.
struct TestInstant: InstantProtocol {
    var offset: Duration

    static let zero = TestInstant(offset: .zero)
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
}

@Suite("Peer liveness (pure)")
struct PeerLivenessTests {
    func at(_ milliseconds: Int) -> TestInstant { .zero.advanced(by: .milliseconds(milliseconds)) }

    @Test("a quiet peer is pinged once per interval and declared dead after the timeout")
    func silentPeer() {
        var liveness = PeerLiveness(now: at(0), pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        #expect(liveness.checkDue(at: at(100)) == .none)
        #expect(liveness.checkDue(at: at(500)) == .sendPing(1))
        #expect(liveness.checkDue(at: at(700)) == .none)
        #expect(liveness.checkDue(at: at(1_000)) == .sendPing(2))
        #expect(liveness.checkDue(at: at(1_999)) == .sendPing(3))
        #expect(liveness.checkDue(at: at(2_000)) == .declareDead(silence: .seconds(2)))
    }

    @Test("any received frame resets the silence")
    func activePeer() {
        var liveness = PeerLiveness(now: at(0), pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        for step in 1...20 {
            liveness.frameReceived(at: at(step * 400))
            #expect(liveness.checkDue(at: at(step * 400 + 300)) == .none)
        }
        #expect(liveness.checkDue(at: at(8_000 + 500)) == .sendPing(1))
        liveness.frameReceived(at: at(8_600))
        #expect(liveness.checkDue(at: at(10_599)) != .declareDead(silence: .milliseconds(1_999)))
        #expect(liveness.checkDue(at: at(10_600)) == .declareDead(silence: .seconds(2)))
    }

    @Test("the check interval is a quarter of the shorter period, at least 10 ms")
    func checkInterval() {
        #expect(PeerLiveness<TestInstant>.checkInterval(pingInterval: .milliseconds(500), peerTimeout: .seconds(2)) == .milliseconds(125))
        #expect(PeerLiveness<TestInstant>.checkInterval(pingInterval: .seconds(5), peerTimeout: .seconds(1)) == .milliseconds(250))
        #expect(PeerLiveness<TestInstant>.checkInterval(pingInterval: .milliseconds(1), peerTimeout: .seconds(1)) == .milliseconds(10))
    }
}
