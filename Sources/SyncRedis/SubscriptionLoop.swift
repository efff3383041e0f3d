import Foundation
import Logging

/// The subscriber's blocking loop, run on its own thread (a subscribed connection parks a thread, which must
/// not be one of the cooperative pool's or the shared NIOThreadPool's): connect, subscribe, read messages,
/// and after any failure reconnect with jittered exponential backoff until the hub says stop.
struct SubscriptionLoop {
    struct Settings: Sendable {
        var endpoint: RedisEndpoint
        var channels: [String]
        var reconnectDelay: Duration
        var maximumReconnectDelay: Duration
        var connectTimeout: Duration
        var silenceTimeout: Duration
    }

    /// How often a blocked read wakes up to notice `stop()`.
    static let wakeIntervalMilliseconds: Int32 = 250

    let settings: Settings
    let hub: SubscriberEventHub
    let logger: Logger

    func run() {
        var backoff = ReconnectBackoff(initial: settings.reconnectDelay, maximum: settings.maximumReconnectDelay)
        var generator = SystemRandomNumberGenerator()
        var outageReported = false
        while !hub.isStopRequested {
            do throws(RedisError) {
                let connection = try RedisConnection.open(
                    to: settings.endpoint, connectTimeout: settings.connectTimeout, ioTimeout: settings.silenceTimeout,
                    // Pub/sub channels are server-wide: SELECT would change nothing.
                    selectDatabase: false
                )
                guard let earlyMessages = try subscribe(on: connection) else { return }
                backoff.reset()
                if outageReported {
                    logger.info("Redis subscription restored")
                    outageReported = false
                } else {
                    logger.debug("subscribed to Redis channels")
                }
                hub.emit(.subscribed)
                for message in earlyMessages {
                    hub.emit(message)
                }
                try receive(on: connection)
                return
            } catch {
                if hub.isStopRequested { return }
                let delay = backoff.nextDelay(using: &generator)
                let metadata: Logger.Metadata = ["sync.redis.error": "\(error)", "sync.redis.retry_in": "\(delay)"]
                // Once per outage at warning level; the attempts after it would only repeat the same line.
                if outageReported {
                    logger.debug("Redis subscription still down; reconnecting", metadata: metadata)
                } else {
                    logger.warning("Redis subscription down; reconnecting", metadata: metadata)
                    hub.emit(.disconnected(reason: error.description))
                    outageReported = true
                }
                pause(for: delay)
            }
        }
    }

    /// Sends `SUBSCRIBE` and waits until every channel is confirmed; returns messages that arrived in between
    /// (delivered after `.subscribed`), or nil if stop was requested meanwhile.
    private func subscribe(on connection: RedisConnection) throws(RedisError) -> [RedisSubscriberEvent]? {
        try connection.append(["SUBSCRIBE"] + settings.channels)
        try connection.flush()
        var unconfirmed = Set(settings.channels)
        var earlyMessages: [RedisSubscriberEvent] = []
        let deadline = ContinuousClock.now + settings.silenceTimeout
        while !unconfirmed.isEmpty {
            if hub.isStopRequested { return nil }
            if let reply = try connection.bufferedReply() {
                // An error reply here (NOAUTH, for one) means the subscription cannot be made on this connection.
                switch SubscriptionReply(try reply.get()) {
                case .confirmed(let channel): unconfirmed.remove(channel)
                case .message(let channel, let payload): earlyMessages.append(.message(channel: channel, payload: payload))
                case .pong: break
                case .unexpected(let description): logger.warning("unexpected reply while subscribing", metadata: ["sync.redis.reply": "\(description)"])
                }
                continue
            }
            guard ContinuousClock.now < deadline else {
                throw RedisError(code: .timeout, command: "SUBSCRIBE", endpoint: connection.endpoint,
                                 detail: "\(unconfirmed.count) channel(s) not confirmed within \(settings.silenceTimeout)")
            }
            if connection.waitUntilReadable(milliseconds: Self.wakeIntervalMilliseconds) {
                try connection.readIntoBuffer()
            }
        }
        return earlyMessages
    }

    /// Delivers messages until stop is requested (returns) or the connection fails (throws). A connection
    /// silent for a third of the silence timeout gets a `PING`; silent for the whole timeout, it is declared
    /// lost: that catches a stuck server or a dead network path, which a blocked read alone never notices.
    private func receive(on connection: RedisConnection) throws(RedisError) {
        var lastHeard = ContinuousClock.now
        var pingOutstanding = false
        while !hub.isStopRequested {
            while let reply = try connection.bufferedReply() {
                lastHeard = .now
                pingOutstanding = false
                switch reply {
                case .success(let value):
                    switch SubscriptionReply(value) {
                    case .message(let channel, let payload): hub.emit(.message(channel: channel, payload: payload))
                    case .confirmed, .pong: break
                    case .unexpected(let description): logger.warning("unexpected reply on the subscription", metadata: ["sync.redis.reply": "\(description)"])
                    }
                case .failure(let error):
                    logger.warning("error reply on the subscription", metadata: ["sync.redis.error": "\(error)"])
                }
            }
            let silence = ContinuousClock.now - lastHeard
            if silence >= settings.silenceTimeout {
                throw RedisError(code: .timeout, command: "PING", endpoint: connection.endpoint,
                                 detail: "heard nothing for \(silence), not even an answer to PING")
            }
            if !pingOutstanding, silence >= settings.silenceTimeout / 3 {
                try connection.append(["PING"])
                try connection.flush()
                pingOutstanding = true
            }
            if connection.waitUntilReadable(milliseconds: Self.wakeIntervalMilliseconds) {
                try connection.readIntoBuffer()
            }
        }
    }

    /// Sleeps in short slices so that `stop()` is noticed during a long backoff.
    private func pause(for delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while !hub.isStopRequested {
            let remaining = deadline - .now
            guard remaining > .zero else { return }
            let slice = min(remaining, .milliseconds(Int(Self.wakeIntervalMilliseconds) / 5))
            let (seconds, attoseconds) = slice.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
    }
}
