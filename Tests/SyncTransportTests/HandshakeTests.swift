import ClusterProtocol
import Testing

@Suite("Handshake (pure)")
struct HandshakeTests {
    static let secret = Array("the-cluster-secret".utf8)
    static let now: Int64 = 1_750_000_000_000
    let client = ClusterHandshake(clusterID: "prod", nodeID: "node-a", secret: HandshakeTests.secret)
    let server = ClusterHandshake(clusterID: "prod", nodeID: "node-b", secret: HandshakeTests.secret)

    func hello(_ handshake: ClusterHandshake? = nil, at timestamp: Int64 = HandshakeTests.now, seed: UInt64 = 1) -> Hello {
        var generator = SeededGenerator(seed: seed)
        return (handshake ?? client).makeHello(timestampMilliseconds: timestamp, using: &generator)
    }

    func decide(_ message: ClusterMessage, now: Int64 = HandshakeTests.now) -> ClusterHandshake.Decision {
        var replayGuard = HelloReplayGuard()
        return server.evaluate(message, nowMilliseconds: now, replayGuard: &replayGuard)
    }

    func rejectCode(_ decision: ClusterHandshake.Decision) -> HelloRejectCode? {
        if case .reject(let reject) = decision { return reject.code }
        return nil
    }

    @Test("a valid hello is accepted, and the client can verify the acceptor's proof")
    func validHello() throws {
        let hello = hello()
        #expect(hello.magic == Array("SYNC".utf8))
        #expect(hello.protocolVersion == 1)
        #expect(hello.nonce.count == 16)
        #expect(hello.proof.count == 32)
        guard case .accept(let peerNodeID, let reply) = decide(.hello(hello)) else {
            Issue.record("valid hello rejected: \(decide(.hello(hello)))")
            return
        }
        #expect(peerNodeID == "node-a")
        #expect(reply.nodeID == "node-b")
        #expect(client.verify(reply, answering: hello))
        // Survives the wire too.
        #expect(try decodeAll(frame(.hello(hello))) == [.hello(hello)])
    }

    @Test("the client refuses an acceptor that does not know the secret or answers another hello")
    func clientVerifiesAcceptor() {
        let hello = hello()
        let impostor = ClusterHandshake(clusterID: "prod", nodeID: "node-b", secret: Array("guess".utf8))
        guard case .accept(_, let forged) = { () -> ClusterHandshake.Decision in
            var replayGuard = HelloReplayGuard()
            return impostor.evaluate(.hello(impostor.signed(hello)), nowMilliseconds: Self.now, replayGuard: &replayGuard)
        }() else {
            Issue.record("impostor did not accept its own re-signed hello")
            return
        }
        #expect(!client.verify(forged, answering: hello))

        guard case .accept(_, let genuine) = decide(.hello(hello)) else {
            Issue.record("valid hello rejected")
            return
        }
        #expect(!client.verify(genuine, answering: self.hello(seed: 2)))
        var renamed = genuine
        renamed.nodeID = "node-c"
        #expect(!client.verify(renamed, answering: hello))
    }

    @Test("a wrong secret is rejected as badProof")
    func wrongSecret() {
        let intruder = ClusterHandshake(clusterID: "prod", nodeID: "node-x", secret: Array("not-the-secret".utf8))
        #expect(rejectCode(decide(.hello(hello(intruder)))) == .badProof)
        // Tampering with any signed field breaks the proof too.
        var tampered = hello()
        tampered.nodeID = "node-z"
        #expect(rejectCode(decide(.hello(tampered))) == .badProof)
        var tamperedTime = hello()
        tamperedTime.timestampMilliseconds += 1
        #expect(rejectCode(decide(.hello(tamperedTime))) == .badProof)
    }

    @Test("an unknown protocol version is rejected as unsupportedVersion, even when correctly signed")
    func wrongVersion() {
        var future = hello()
        future.protocolVersion = 2
        #expect(rejectCode(decide(.hello(client.signed(future)))) == .unsupportedVersion)
    }

    @Test("wrong magic is rejected as badMagic")
    func wrongMagic() {
        var other = hello()
        other.magic = Array("HTTP".utf8)
        #expect(rejectCode(decide(.hello(client.signed(other)))) == .badMagic)
    }

    @Test("another cluster is rejected as wrongCluster, even with the same secret")
    func wrongCluster() {
        let staging = ClusterHandshake(clusterID: "staging", nodeID: "node-a", secret: Self.secret)
        guard case .reject(let reject) = decide(.hello(hello(staging))) else {
            Issue.record("hello from another cluster accepted")
            return
        }
        #expect(reject.code == .wrongCluster)
        #expect(!reject.reason.contains("prod"), "the reject must not reveal this cluster's id: \(reject.reason)")
    }

    @Test("a timestamp outside the window (either way) is rejected as staleTimestamp")
    func staleTimestamp() {
        let window = ClusterHandshake.defaultTimestampWindowMilliseconds
        #expect(rejectCode(decide(.hello(hello(at: Self.now - window - 1)))) == .staleTimestamp)
        #expect(rejectCode(decide(.hello(hello(at: Self.now + window + 1)))) == .staleTimestamp)
        #expect(rejectCode(decide(.hello(hello(at: .min)))) == .staleTimestamp)
        #expect(rejectCode(decide(.hello(hello(at: Self.now - window)))) == nil)
        #expect(rejectCode(decide(.hello(hello(at: Self.now + window)))) == nil)
    }

    @Test("any frame other than hello first is rejected as handshakeRequired")
    func nonHelloFirst() {
        for message in SampleMessages.all {
            if case .hello = message { continue }
            #expect(rejectCode(decide(message)) == .handshakeRequired, "\(message)")
        }
    }

    @Test("an undecodable first frame and a handshake timeout have codes of their own")
    func undecodableAndTimeout() {
        let error = ClusterProtocolError(code: .oversizedFrame, detail: "frame length 1195725856 exceeds the maximum")
        #expect(rejectCode(server.evaluate(undecodableFirstFrame: error)) == .malformedHello)
        #expect(ClusterHandshake.timeoutReject(after: 2000).code == .handshakeTimeout)
    }

    @Test("a replayed hello is rejected while its timestamp is within the window, and forgotten after")
    func replay() {
        var replayGuard = HelloReplayGuard()
        let hello = hello()
        #expect(rejectCode(server.evaluate(.hello(hello), nowMilliseconds: Self.now, replayGuard: &replayGuard)) == nil)
        #expect(rejectCode(server.evaluate(.hello(hello), nowMilliseconds: Self.now + 1_000, replayGuard: &replayGuard)) == .replayedHello)
        #expect(rejectCode(server.evaluate(.hello(self.hello(seed: 9)), nowMilliseconds: Self.now + 1_000, replayGuard: &replayGuard)) == nil)
        // Once out of the window the timestamp check refuses it, and the guard may forget it.
        let later = Self.now + ClusterHandshake.defaultTimestampWindowMilliseconds + 1
        #expect(rejectCode(server.evaluate(.hello(hello), nowMilliseconds: later, replayGuard: &replayGuard)) == .staleTimestamp)
        #expect(rejectCode(server.evaluate(.hello(self.hello(at: later, seed: 10)), nowMilliseconds: later, replayGuard: &replayGuard)) == nil)
        #expect(replayGuard.rememberedCount == 2)
    }
}
