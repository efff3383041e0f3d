/// When to ping a connected peer and when to declare it dead. Pure: the owner feeds it the instants
/// of received frames and of its periodic checks, and carries out the action it returns.
///
/// A peer is pinged once it has been quiet for `pingInterval` (at most one ping per interval), and
/// declared dead once it has been quiet for `peerTimeout`. Only *received* frames count as signs of
/// life: a peer that is stopped (SIGSTOP) keeps its TCP connection open and even accepts our bytes
/// into its kernel buffer, but never answers a ping.
public struct PeerLiveness<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Action: Sendable, Hashable {
        case none
        /// Send `ping(value)`; the peer answers with `pong(value)`.
        case sendPing(UInt64)
        /// Nothing was received for `silence` ≥ `peerTimeout`: fail what waits on the peer and close.
        case declareDead(silence: Duration)
    }

    public let pingInterval: Duration
    public let peerTimeout: Duration
    private var lastReceived: Instant
    private var lastPingSent: Instant?
    private var nextPingValue: UInt64 = 1

    public init(now: Instant, pingInterval: Duration, peerTimeout: Duration) {
        self.pingInterval = pingInterval
        self.peerTimeout = peerTimeout
        self.lastReceived = now
    }

    /// How often the owner should call `checkDue(at:)`: a quarter of the shorter period (at least
    /// 10 ms), so a dead peer is noticed at most that much after `peerTimeout`.
    public var checkInterval: Duration {
        Self.checkInterval(pingInterval: pingInterval, peerTimeout: peerTimeout)
    }

    public static func checkInterval(pingInterval: Duration, peerTimeout: Duration) -> Duration {
        max(min(pingInterval, peerTimeout) / 4, .milliseconds(10))
    }

    public mutating func frameReceived(at now: Instant) {
        if now > lastReceived { lastReceived = now }
    }

    public mutating func checkDue(at now: Instant) -> Action {
        let silence = lastReceived.duration(to: now)
        if silence >= peerTimeout {
            return .declareDead(silence: silence)
        }
        guard silence >= pingInterval else { return .none }
        if let lastPingSent, lastPingSent.duration(to: now) < pingInterval {
            return .none
        }
        lastPingSent = now
        defer { nextPingValue &+= 1 }
        return .sendPing(nextPingValue)
    }
}
