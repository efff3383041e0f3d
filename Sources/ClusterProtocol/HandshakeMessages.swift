/// The first frame of every connection, sent by the dialing node.
///
/// Wire layout (v1): magic (4 raw bytes) | version (u16) | cluster id (string) | node id (string) |
/// nonce (16 raw bytes) | timestamp (i64, ms since the Unix epoch) | proof (32 raw bytes), where
/// proof = HMAC-SHA256(secret, every preceding byte of the payload). A later version must keep the
/// magic and the version at the front so an old node can still say "unsupported version".
public struct Hello: Sendable, Hashable {
    public var magic: [UInt8]
    public var protocolVersion: UInt16
    public var clusterID: String
    public var nodeID: String
    public var nonce: [UInt8]
    public var timestampMilliseconds: Int64
    public var proof: [UInt8]

    public init(magic: [UInt8], protocolVersion: UInt16, clusterID: String, nodeID: String, nonce: [UInt8],
                timestampMilliseconds: Int64, proof: [UInt8]) {
        self.magic = magic
        self.protocolVersion = protocolVersion
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.nonce = nonce
        self.timestampMilliseconds = timestampMilliseconds
        self.proof = proof
    }
}

/// The accepting node's answer to a valid `Hello`: its node id and
/// proof = HMAC-SHA256(secret, client nonce | node id as a wire string), so the dialer knows it
/// reached a member of its cluster and not something that merely accepts connections.
public struct HelloAccept: Sendable, Hashable {
    public var nodeID: String
    public var proof: [UInt8]

    public init(nodeID: String, proof: [UInt8]) {
        self.nodeID = nodeID
        self.proof = proof
    }
}

/// The accepting node's answer to anything that is not a valid `Hello`; the connection closes
/// right after it.
public struct HelloReject: Sendable, Hashable {
    public var code: HelloRejectCode
    /// For the operator reading the dialer's log; never contains the secret or this cluster's id.
    public var reason: String

    public init(code: HelloRejectCode, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// Why a handshake was refused. A struct over the raw byte rather than an enum so that a node can
/// still report a code added by a newer version instead of failing to decode the reject.
public struct HelloRejectCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The first frame could not be decoded (garbage, oversized, malformed payload).
    public static let malformedHello = HelloRejectCode(rawValue: 1)
    /// The first frame was a valid frame but not a `hello`.
    public static let handshakeRequired = HelloRejectCode(rawValue: 2)
    public static let badMagic = HelloRejectCode(rawValue: 3)
    public static let unsupportedVersion = HelloRejectCode(rawValue: 4)
    public static let wrongCluster = HelloRejectCode(rawValue: 5)
    /// The proof does not match: the dialer does not hold this cluster's secret.
    public static let badProof = HelloRejectCode(rawValue: 6)
    /// The timestamp is outside the accepted window (clock skew or a replayed hello).
    public static let staleTimestamp = HelloRejectCode(rawValue: 7)
    /// This exact hello (same nonce) was already accepted within the window.
    public static let replayedHello = HelloRejectCode(rawValue: 8)
    /// No complete first frame arrived within the handshake timeout.
    public static let handshakeTimeout = HelloRejectCode(rawValue: 9)

    public var description: String {
        switch self {
        case .malformedHello: "malformedHello"
        case .handshakeRequired: "handshakeRequired"
        case .badMagic: "badMagic"
        case .unsupportedVersion: "unsupportedVersion"
        case .wrongCluster: "wrongCluster"
        case .badProof: "badProof"
        case .staleTimestamp: "staleTimestamp"
        case .replayedHello: "replayedHello"
        case .handshakeTimeout: "handshakeTimeout"
        default: "code\(rawValue)"
        }
    }
}
