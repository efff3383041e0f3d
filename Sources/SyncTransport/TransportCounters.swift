import Synchronization

/// Running totals since the transport was created, for metrics and tests.
public struct TransportCounters: Sendable, Hashable {
    public var framesSent = 0
    public var framesReceived = 0
    /// Frames that could not be decoded (or encoded): each one closed its connection.
    public var frameErrors = 0
    /// Inbound hellos accepted.
    public var handshakesAccepted = 0
    /// Inbound connections refused at the handshake (bad proof, garbage, wrong cluster, timeout, ...).
    public var handshakeRejects = 0
    /// TCP connections established, inbound and outbound.
    public var connectionsOpened = 0
    /// Outbound connect attempts after an earlier attempt or connection to the same peer failed or was lost.
    public var reconnects = 0
    /// Connections closed because the peer stayed silent for `peerTimeout`.
    public var peersTimedOut = 0

    public init() {}
}

/// The one owner of the counters.
final class TransportCounterStore: Sendable {
    private let counters = Mutex(TransportCounters())

    var snapshot: TransportCounters { counters.withLock { $0 } }

    func increment(_ field: WritableKeyPath<TransportCounters, Int>, by amount: Int = 1) {
        counters.withLock { $0[keyPath: field] += amount }
    }
}
