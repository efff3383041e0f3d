import Synchronization

/// Between the subscriber's thread and its consumers: the streams to feed, and whether to stop. The thread
/// emits; `events()` registers streams; `stop()` finishes them and tells the thread to exit.
final class SubscriberEventHub: Sendable {
    /// `idle` -> `running` (first registration starts the thread) -> `stopped`; `idle` -> `stopped` too.
    private enum Phase {
        case idle, running, stopped
    }

    private struct State {
        var phase = Phase.idle
        var consumers: [Int: AsyncStream<RedisSubscriberEvent>.Continuation] = [:]
        var nextConsumerID = 0
    }

    enum Registration {
        /// The first consumer: the caller starts the thread.
        case startThread
        case joined
        /// Already stopped: the stream has been finished.
        case finished
    }

    private let state = Mutex(State())

    var isStopRequested: Bool {
        state.withLock { $0.phase == .stopped }
    }

    func register(_ continuation: AsyncStream<RedisSubscriberEvent>.Continuation) -> Registration {
        let (registration, id): (Registration, Int) = state.withLock { state in
            let id = state.nextConsumerID
            switch state.phase {
            case .stopped:
                return (.finished, id)
            case .idle:
                state.phase = .running
                state.consumers[id] = continuation
                state.nextConsumerID += 1
                return (.startThread, id)
            case .running:
                state.consumers[id] = continuation
                state.nextConsumerID += 1
                return (.joined, id)
            }
        }
        if case .finished = registration {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.consumers.removeValue(forKey: id) }
            }
        }
        return registration
    }

    /// Feeds every registered stream (without holding the lock while yielding).
    func emit(_ event: RedisSubscriberEvent) {
        let consumers = state.withLock { Array($0.consumers.values) }
        for consumer in consumers {
            consumer.yield(event)
        }
    }

    /// Finishes every stream and tells the thread to exit.
    func stop() {
        let consumers = state.withLock { state in
            state.phase = .stopped
            defer { state.consumers = [:] }
            return Array(state.consumers.values)
        }
        for consumer in consumers {
            consumer.finish()
        }
    }
}
