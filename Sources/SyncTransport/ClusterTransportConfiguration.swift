/// Everything `ClusterTransport` needs to know, with the defaults a node on a LAN wants. Reading the
/// environment (`SYNC_CLUSTER_SECRET`, ports) is the executable's job.
public struct ClusterTransportConfiguration: Sendable {
    /// Only nodes presenting the same cluster id (and proving the same secret) are accepted.
    public var clusterID: String
    public var nodeID: String
    /// The shared cluster secret (`SYNC_CLUSTER_SECRET`); the handshake proves knowledge of it with
    /// HMAC-SHA256 and never sends it.
    public var secret: [UInt8]
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks an ephemeral one (`start()` returns it).
    public var port: Int = 0
    /// Largest frame length (type byte + payload) sent or accepted; a longer length closes the connection.
    public var maximumFrameSize: Int = 4 << 20
    /// A peer quiet for this long is pinged.
    public var pingInterval: Duration = .milliseconds(500)
    /// A peer that sent nothing (not even a pong) for this long is dead: its open calls fail with
    /// `.peerUnresponsive` and the connection closes.
    public var peerTimeout: Duration = .seconds(2)
    /// How long a new connection may take to complete the handshake, on either side.
    public var handshakeTimeout: Duration = .seconds(2)
    /// Bound of one TCP connect attempt.
    public var connectTimeout: Duration = .seconds(1)
    /// Pause after the first failed connect attempt; doubles per attempt up to `maximumReconnectDelay`.
    public var reconnectDelay: Duration = .milliseconds(100)
    public var maximumReconnectDelay: Duration = .seconds(2)
    /// Connect attempts per call before it fails with `.unreachable`.
    public var connectAttempts: Int = 3
    /// How far a hello's timestamp may be from this node's clock.
    public var handshakeTimestampWindow: Duration = .seconds(60)

    public init(clusterID: String, nodeID: String, secret: [UInt8], host: String = "127.0.0.1", port: Int = 0) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.secret = secret
        self.host = host
        self.port = port
    }
}
