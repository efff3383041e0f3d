/// Why a transport operation failed, with the peer it concerned.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// No handshaken connection could be made within the connect attempts. Nothing was sent.
        case unreachable
        /// The peer refused the handshake, or could not prove the cluster secret, or is another node
        /// than the one asked for. Retrying will not help until configuration changes.
        case handshakeRejected
        /// The connection closed while the call was open: the request may or may not be running.
        /// Re-resolve the owner and re-send; the idempotency key makes that harmless.
        case connectionLost
        /// The peer sent nothing, not even a pong, for `peerTimeout` while the call was open (a
        /// stopped or partitioned process). Same remedy as `connectionLost`.
        case peerUnresponsive
        /// The peer broke the protocol (undecodable or unexpected frame), or a message could not be framed.
        case protocolViolation
        /// The transport is shutting down.
        case shutDown
        /// `start()` could not listen on the configured address.
        case listenFailed
    }

    public var code: Code
    /// `nodeID@host:port` for calls, the remote address for inbound connections.
    public var peer: String
    public var detail: String

    public init(code: Code, peer: String, detail: String) {
        self.code = code
        self.peer = peer
        self.detail = detail
    }

    public var description: String { "transport error (\(code)) with \(peer): \(detail)" }
}
