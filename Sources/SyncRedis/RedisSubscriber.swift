import Foundation
import Logging

/// Subscribes to Redis channels on a dedicated thread and reports messages as an `AsyncStream`. It
/// reconnects by itself (jittered exponential backoff) and emits `.subscribed` after every (re)subscription,
/// because messages published while it was away are lost: consumers resynchronise then.
public final class RedisSubscriber: Sendable {
    public let endpoint: RedisEndpoint
    public let channels: [String]
    private let settings: SubscriptionLoop.Settings
    private let logger: Logger
    private let hub = SubscriberEventHub()

    /// - Parameters:
    ///   - reconnectDelay: the first wait after a failure; it doubles per consecutive failure, with jitter.
    ///   - maximumReconnectDelay: the longest wait between attempts.
    ///   - connectTimeout: how long one connection attempt may take.
    ///   - silenceTimeout: a connection that has said nothing for this long, even in answer to a `PING`, is
    ///     treated as lost (a stuck server or a dead network path); also the limit for subscription confirmations.
    public init(
        endpoint: RedisEndpoint,
        channels: [String],
        reconnectDelay: Duration = .milliseconds(200),
        maximumReconnectDelay: Duration = .seconds(2),
        connectTimeout: Duration = .seconds(1),
        silenceTimeout: Duration = .seconds(5),
        logger: Logger
    ) {
        precondition(!channels.isEmpty, "a RedisSubscriber needs at least one channel")
        self.endpoint = endpoint
        self.channels = channels
        self.settings = SubscriptionLoop.Settings(
            endpoint: endpoint, channels: channels, reconnectDelay: reconnectDelay,
            maximumReconnectDelay: maximumReconnectDelay, connectTimeout: connectTimeout, silenceTimeout: silenceTimeout
        )
        var logger = logger
        logger[metadataKey: "sync.redis"] = "\(endpoint)"
        logger[metadataKey: "sync.redis.channels"] = .array(channels.map { "\($0)" })
        self.logger = logger
    }

    deinit {
        hub.stop()
    }

    /// The subscriber's events. The first call starts the thread; every call returns a new stream that gets
    /// the events from then on. The streams end after `stop()` (at once if it was already called), and also
    /// when the subscriber is released: keep a reference while consuming.
    public func events() -> AsyncStream<RedisSubscriberEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self)
        if case .startThread = hub.register(continuation) {
            // The thread holds the hub, not the subscriber, so dropping the subscriber stops it (deinit).
            let loop = SubscriptionLoop(settings: settings, hub: hub, logger: logger)
            let thread = Thread { loop.run() }
            thread.name = "redis-subscriber"
            thread.start()
        }
        return stream
    }

    /// Finishes the streams and tells the thread to exit; it notices within about 250 ms (its reads wake up
    /// that often) and then closes the connection.
    public func stop() {
        hub.stop()
    }
}
