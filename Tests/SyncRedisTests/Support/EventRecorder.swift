import Synchronization
import SyncRedis

/// Collects a subscriber's events in the background so a test can wait, with a time limit, for what it
/// expects, and print everything seen when it does not come.
final class EventRecorder: Sendable {
    struct TimedOut: Error, CustomStringConvertible {
        var expectation: String
        var seen: [RedisSubscriberEvent]
        var description: String { "timed out waiting for \(expectation); events so far: \(seen)" }
    }

    private final class Log: Sendable {
        let events = Mutex<[RedisSubscriberEvent]>([])
        let finished = Mutex(false)
    }

    private let log = Log()
    private let consumer: Task<Void, Never>

    init(_ stream: AsyncStream<RedisSubscriberEvent>) {
        let log = log
        consumer = Task {
            for await event in stream {
                log.events.withLock { $0.append(event) }
            }
            log.finished.withLock { $0 = true }
        }
    }

    deinit {
        consumer.cancel()
    }

    var events: [RedisSubscriberEvent] { log.events.withLock { $0 } }
    var isFinished: Bool { log.finished.withLock { $0 } }
    var subscribedCount: Int { events.count { $0 == .subscribed } }
    var messages: [RedisSubscriberEvent] {
        events.filter { if case .message = $0 { true } else { false } }
    }
    var disconnections: [String] {
        events.compactMap { if case .disconnected(let reason) = $0 { reason } else { nil } }
    }

    /// Polls until `condition` holds, failing with everything seen once `limit` has passed.
    func wait(for expectation: String, within limit: Duration = .seconds(5), until condition: (EventRecorder) -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition(self) {
            guard ContinuousClock.now < deadline else { throw TimedOut(expectation: expectation, seen: events) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
