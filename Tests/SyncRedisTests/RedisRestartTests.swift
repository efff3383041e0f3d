import Foundation
import NIOPosix
import SyncTestSupport
import Testing
@testable import SyncRedis

/// Against a redis-server each test starts, kills, pauses and restarts itself.
@Suite("Redis client and subscriber across server restarts and stalls")
struct RedisRestartTests {
    @Test("after a restart the client's next command succeeds and the subscriber resubscribes and receives")
    func survivesRestart() async throws {
        try await withOwnThreadPool { pool in
            let server = try OwnedRedisServer()
            try server.start()
            defer { server.stop() }
            let channel = "restart-\(UUID().uuidString)"
            let client = RedisClient(endpoint: server.endpoint, threadPool: pool, logger: TestServices.logger)
            defer { client.close() }
            let subscriber = RedisSubscriber(endpoint: server.endpoint, channels: [channel], reconnectDelay: .milliseconds(50),
                                             maximumReconnectDelay: .milliseconds(300), logger: TestServices.logger)
            defer { subscriber.stop() }
            let recorder = EventRecorder(subscriber.events())
            try await recorder.wait(for: "subscribed") { $0.subscribedCount == 1 }
            try await client.set("k", "before")
            #expect(try await client.publish(channel, "before") == 1)
            try await recorder.wait(for: "the first message") { $0.messages.count == 1 }

            server.stop()
            // While the server is down a command fails at once; it is not queued or retried.
            let whileDown = await #expect(throws: RedisError.self) { try await client.get("k") }
            #expect(whileDown?.code == .connectionFailed)
            try await recorder.wait(for: "disconnected") { $0.disconnections.count == 1 }

            try server.start()
            #expect(try await client.get("k") == nil, "the first command after the restart reaches the new, empty server")
            try await client.set("k", "after")
            #expect(try await client.get("k") == "after")

            try await recorder.wait(for: "subscribed again", within: .seconds(5)) { $0.subscribedCount == 2 }
            #expect(try await client.publish(channel, "after") == 1)
            try await recorder.wait(for: "the message published after the restart") { $0.messages.count == 2 }
            #expect(recorder.events == [
                .subscribed, .message(channel: channel, payload: "before"),
                .disconnected(reason: recorder.disconnections[0]),
                .subscribed, .message(channel: channel, payload: "after"),
            ])
        }
    }

    @Test("a stuck server yields a timeout instead of a hung command, and the client recovers when it resumes")
    func clientTimesOutOnStuckServer() async throws {
        try await withOwnThreadPool { pool in
            let server = try OwnedRedisServer()
            try server.start()
            defer { server.stop() }
            let client = RedisClient(endpoint: server.endpoint, threadPool: pool, commandTimeout: .milliseconds(300),
                                     logger: TestServices.logger)
            defer { client.close() }
            try await client.set("k", "v")

            server.pause()
            let started = ContinuousClock.now
            do {
                _ = try await withDeadline(.seconds(3), "GET against a stopped server") { try await client.get("k") }
                Issue.record("GET succeeded against a stopped server")
            } catch let error as RedisError {
                #expect(error.code == .timeout)
                #expect(error.command == "GET")
            }
            #expect(ContinuousClock.now - started < .seconds(2))

            server.resume()
            #expect(try await client.get("k") == "v")
        }
    }

    @Test("close does not wait for a command in flight; the command still completes and later ones fail with closed")
    func closeDoesNotWait() async throws {
        try await withOwnThreadPool { pool in
            let server = try OwnedRedisServer()
            try server.start()
            defer { server.stop() }
            let client = RedisClient(endpoint: server.endpoint, threadPool: pool, commandTimeout: .milliseconds(500),
                                     logger: TestServices.logger)
            try await client.set("k", "v")
            server.pause()
            let inFlight = Task { try await client.get("k") }
            try await Task.sleep(for: .milliseconds(100)) // the GET is now blocked in a read
            let started = ContinuousClock.now
            client.close()
            #expect(ContinuousClock.now - started < .milliseconds(100))
            let outcome = try await withDeadline(.seconds(3), "the GET in flight") { await inFlight.result }
            #expect((outcome.failure as? RedisError)?.code == .timeout, "\(outcome)")
            server.resume()
            let afterClose = await #expect(throws: RedisError.self) { try await client.get("k") }
            #expect(afterClose?.code == .closed)
        }
    }

    @Test("a subscriber on a stuck server notices the silence, reports it, and resubscribes once it resumes")
    func subscriberNoticesStuckServer() async throws {
        try await withOwnThreadPool { pool in
            let server = try OwnedRedisServer()
            try server.start()
            defer { server.stop() }
            let channel = "stall-\(UUID().uuidString)"
            let subscriber = RedisSubscriber(endpoint: server.endpoint, channels: [channel], reconnectDelay: .milliseconds(50),
                                             maximumReconnectDelay: .milliseconds(200), silenceTimeout: .milliseconds(900),
                                             logger: TestServices.logger)
            defer { subscriber.stop() }
            let recorder = EventRecorder(subscriber.events())
            try await recorder.wait(for: "subscribed") { $0.subscribedCount == 1 }

            server.pause()
            try await recorder.wait(for: "disconnected", within: .seconds(4)) { $0.disconnections.count == 1 }
            server.resume()
            try await recorder.wait(for: "subscribed again", within: .seconds(5)) { $0.subscribedCount == 2 }

            let client = RedisClient(endpoint: server.endpoint, threadPool: pool, logger: TestServices.logger)
            defer { client.close() }
            try await client.publish(channel, "resumed")
            try await recorder.wait(for: "the message after resuming") { $0.messages == [.message(channel: channel, payload: "resumed")] }
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
