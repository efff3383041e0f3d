import Testing
@testable import SyncRedis

@Suite("Subscription replies")
struct SubscriptionReplyTests {
    @Test("a message names its channel and payload")
    func message() {
        #expect(SubscriptionReply(.array([.bulk("message"), .bulk("c1"), .bulk("hello")])) == .message(channel: "c1", payload: "hello"))
    }

    @Test("a subscribe confirmation names its channel")
    func confirmation() {
        #expect(SubscriptionReply(.array([.bulk("subscribe"), .bulk("c1"), .integer(1)])) == .confirmed(channel: "c1"))
    }

    @Test("PING is answered with pong while subscribed and PONG otherwise")
    func pong() {
        #expect(SubscriptionReply(.array([.bulk("pong"), .bulk("")])) == .pong)
        #expect(SubscriptionReply(.status("PONG")) == .pong)
    }

    @Test("anything else is unexpected", arguments: [
        RedisValue.integer(3), .null, .array([]), .array([.bulk("message"), .bulk("c1")]), .array([.bulk("message"), .integer(1), .bulk("x")]),
    ])
    func unexpected(value: RedisValue) {
        guard case .unexpected = SubscriptionReply(value) else {
            Issue.record("\(value) was not unexpected")
            return
        }
    }
}
