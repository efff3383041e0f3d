import Crypto
import NIOCore

/// The pure logic of the handshake, for both sides: building and checking `Hello`, deciding
/// accept or reject, checking the acceptor's proof. Time and randomness come in as arguments.
///
/// Dialer: `makeHello` → send → on `helloAccept`, `verify(_:answering:)`; on `helloReject`, give up.
/// Acceptor: first frame → `evaluate(_:nowMilliseconds:replayGuard:)` (or
/// `evaluate(undecodableFirstFrame:)`) → send the reply; close after a reject.
public struct ClusterHandshake: Sendable {
    public static let magic: [UInt8] = Array("SYNC".utf8)
    public static let currentVersion: UInt16 = 1
    public static let nonceSize = 16
    /// HMAC-SHA256 output.
    public static let proofSize = 32
    public static let defaultTimestampWindowMilliseconds: Int64 = 60_000

    public let clusterID: String
    public let nodeID: String
    /// How far a hello's timestamp may be from the acceptor's clock, either way.
    public let timestampWindowMilliseconds: Int64
    private let key: SymmetricKey

    public init(clusterID: String, nodeID: String, secret: [UInt8],
                timestampWindowMilliseconds: Int64 = ClusterHandshake.defaultTimestampWindowMilliseconds) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.timestampWindowMilliseconds = timestampWindowMilliseconds
        self.key = SymmetricKey(data: secret)
    }

    // MARK: Dialer

    /// A signed hello with a fresh nonce from `generator`.
    public func makeHello(timestampMilliseconds: Int64, using generator: inout some RandomNumberGenerator) -> Hello {
        let nonce = (0..<Self.nonceSize).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return makeHello(nonce: nonce, timestampMilliseconds: timestampMilliseconds)
    }

    /// A signed hello with the given nonce (`nonceSize` bytes).
    public func makeHello(nonce: [UInt8], timestampMilliseconds: Int64) -> Hello {
        precondition(nonce.count == Self.nonceSize, "nonce must be \(Self.nonceSize) bytes, got \(nonce.count)")
        let unsigned = Hello(magic: Self.magic, protocolVersion: Self.currentVersion, clusterID: clusterID, nodeID: nodeID,
                             nonce: nonce, timestampMilliseconds: timestampMilliseconds, proof: [])
        return signed(unsigned)
    }

    /// `hello` with its proof recomputed over its other fields under this node's secret. Lets a test
    /// build a correctly signed hello with, say, another version.
    public func signed(_ hello: Hello) -> Hello {
        var hello = hello
        var fields = ByteBuffer()
        hello.writeSignedFields(into: &fields)
        hello.proof = Array(HMAC<SHA256>.authenticationCode(for: Array(fields.readableBytesView), using: key))
        return hello
    }

    /// Whether the acceptor's proof shows it holds the secret and answered this very hello.
    public func verify(_ accept: HelloAccept, answering hello: Hello) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(accept.proof, authenticating: Self.acceptSignedBytes(nonce: hello.nonce, nodeID: accept.nodeID),
                                                using: key)
    }

    // MARK: Acceptor

    public enum Decision: Sendable, Hashable {
        /// Send `reply`; the connection now belongs to `peerNodeID`.
        case accept(peerNodeID: String, reply: HelloAccept)
        /// Send the reject, then close.
        case reject(HelloReject)
    }

    /// Decides on the first decoded frame of an inbound connection.
    ///
    /// The checks run in the order a mismatch is most useful to the operator (magic, version,
    /// cluster), then the proof, then the timestamp: the clock is only discussed with a peer that
    /// has proved it holds the secret. The proof is compared in constant time.
    public func evaluate(_ first: ClusterMessage, nowMilliseconds: Int64, replayGuard: inout HelloReplayGuard) -> Decision {
        guard case .hello(let hello) = first else {
            return .reject(HelloReject(code: .handshakeRequired, reason: "expected hello as the first frame, got \(first.type)"))
        }
        guard hello.magic == Self.magic else {
            return .reject(HelloReject(code: .badMagic, reason: "magic \(hello.magic) is not \"SYNC\""))
        }
        guard hello.protocolVersion == Self.currentVersion else {
            return .reject(HelloReject(code: .unsupportedVersion,
                                       reason: "protocol version \(hello.protocolVersion) unsupported; this node speaks \(Self.currentVersion)"))
        }
        guard hello.clusterID == clusterID else {
            return .reject(HelloReject(code: .wrongCluster, reason: "cluster '\(hello.clusterID)' is not this node's cluster"))
        }
        var fields = ByteBuffer()
        hello.writeSignedFields(into: &fields)
        guard HMAC<SHA256>.isValidAuthenticationCode(hello.proof, authenticating: Array(fields.readableBytesView), using: key) else {
            return .reject(HelloReject(code: .badProof, reason: "proof does not match: check SYNC_CLUSTER_SECRET on node '\(hello.nodeID)'"))
        }
        let (skew, overflow) = nowMilliseconds.subtractingReportingOverflow(hello.timestampMilliseconds)
        guard !overflow, skew.magnitude <= timestampWindowMilliseconds.magnitude else {
            return .reject(HelloReject(code: .staleTimestamp,
                                       reason: "timestamp differs from this node's clock by more than \(timestampWindowMilliseconds) ms"))
        }
        guard replayGuard.admit(nonce: hello.nonce, timestampMilliseconds: hello.timestampMilliseconds,
                                nowMilliseconds: nowMilliseconds) else {
            return .reject(HelloReject(code: .replayedHello, reason: "this hello was already used; send a fresh one"))
        }
        let proof = HMAC<SHA256>.authenticationCode(for: Self.acceptSignedBytes(nonce: hello.nonce, nodeID: nodeID), using: key)
        return .accept(peerNodeID: hello.nodeID, reply: HelloAccept(nodeID: nodeID, proof: Array(proof)))
    }

    /// The decision when the first frame could not even be decoded.
    public func evaluate(undecodableFirstFrame error: ClusterProtocolError) -> Decision {
        .reject(HelloReject(code: .malformedHello, reason: "first frame undecodable: \(error.detail)"))
    }

    /// The reject sent when no first frame arrived in time.
    public static func timeoutReject(after milliseconds: Int64) -> HelloReject {
        HelloReject(code: .handshakeTimeout, reason: "no hello within \(milliseconds) ms")
    }

    private static func acceptSignedBytes(nonce: [UInt8], nodeID: String) -> [UInt8] {
        var bytes = ByteBuffer()
        bytes.writeBytes(nonce)
        bytes.writeWireString(nodeID)
        return Array(bytes.readableBytesView)
    }
}
