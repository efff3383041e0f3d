import Foundation
import SyncTestSupport
import Testing
@testable import SyncRedis

@Suite("Redis subscriber against the shared test Redis")
struct RedisSubscriberTests {
    @Test("messages published to the channels arrive in order, after subscribed")
    func deliversMessages() async throws {
        let channels = [SharedRedis.uniquePrefix() + "one", SharedRedis.uniquePrefix() + "two"]
        let subscriber = RedisSubscriber(endpoint: try SharedRedis.endpoint(), channels: channels, logger: TestServices.logger)
        defer { subscriber.stop() }
        let recorder = EventRecorder(subscriber.events())
        try await recorder.wait(for: "subscribed") { $0.subscribedCount == 1 }

        let client = try SharedRedis.client()
        defer { client.close() }
        #expect(try await client.publish(channels[0], "a") == 1)
        try await client.publish(channels[1], "b")
        try await client.publish(channels[0], "c")
        try await client.publish(SharedRedis.uniquePrefix() + "elsewhere", "not for us")

        let expected: [RedisSubscriberEvent] = [
            .message(channel: channels[0], payload: "a"),
            .message(channel: channels[1], payload: "b"),
            .message(channel: channels[0], payload: "c"),
        ]
        try await recorder.wait(for: "three messages") { $0.messages.count >= 3 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(recorder.events == [.subscribed] + expected)
    }

    @Test("every stream gets the events, and stop finishes them all")
    func fanOutAndStop() async throws {
        let channel = SharedRedis.uniquePrefix() + "fan"
        let subscriber = RedisSubscriber(endpoint: try SharedRedis.endpoint(), channels: [channel], logger: TestServices.logger)
        defer { subscriber.stop() }
        let first = EventRecorder(subscriber.events())
        try await first.wait(for: "subscribed") { $0.subscribedCount == 1 }
        let second = EventRecorder(subscriber.events())

        let client = try SharedRedis.client()
        defer { client.close() }
        try await client.publish(channel, "both")
        try await first.wait(for: "the message on the first stream") { $0.messages.count == 1 }
        try await second.wait(for: "the message on the second stream") { $0.messages.count == 1 }

        subscriber.stop()
        try await first.wait(for: "the first stream to finish", within: .seconds(1)) { $0.isFinished }
        try await second.wait(for: "the second stream to finish", within: .seconds(1)) { $0.isFinished }
        let late = EventRecorder(subscriber.events())
        try await late.wait(for: "a stream asked for after stop to be finished", within: .seconds(1)) { $0.isFinished }

        // The thread has let go of its connection: nobody receives on the channel any more.
        let deadline = ContinuousClock.now + .seconds(2)
        while try await client.publish(channel, "after stop") != 0 {
            guard ContinuousClock.now < deadline else {
                Issue.record("the subscriber's connection is still subscribed 2 s after stop")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("an unreachable server is reported once, not once per attempt")
    func unreachableReportedOnce() async throws {
        let subscriber = RedisSubscriber(
            endpoint: RedisEndpoint(host: "127.0.0.1", port: try LoopbackPort.unused()), channels: ["c"],
            reconnectDelay: .milliseconds(20), maximumReconnectDelay: .milliseconds(50), logger: TestServices.logger
        )
        defer { subscriber.stop() }
        let recorder = EventRecorder(subscriber.events())
        try await recorder.wait(for: "disconnected", within: .seconds(2)) { !$0.disconnections.isEmpty }
        try await Task.sleep(for: .milliseconds(500)) // about ten more failed attempts
        #expect(recorder.events.count == 1, "\(recorder.events)")
        #expect(recorder.disconnections.first?.contains("connectionFailed") == true)
    }
}
