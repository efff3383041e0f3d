import ClusterProtocol
@testable import SyncTransport
import Testing

@Suite("Outbound connection state machine (pure)")
struct OutboundConnectionStateMachineTests {
    typealias Machine = OutboundConnectionStateMachine<String, TestInstant>

    static let secret = Array("state-machine-secret".utf8)
    let client = ClusterHandshake(clusterID: "c", nodeID: "a", secret: Self.secret)
    let server = ClusterHandshake(clusterID: "c", nodeID: "b", secret: Self.secret)
    let peer = ClusterPeer(nodeID: "b", host: "127.0.0.1", port: 7000)
    let hello: Hello

    init() {
        hello = client.makeHello(nonce: Array(repeating: 3, count: 16), timestampMilliseconds: 1_000)
    }

    func at(_ milliseconds: Int) -> TestInstant { .zero.advanced(by: .milliseconds(milliseconds)) }

    func accept(from handshake: ClusterHandshake) -> HelloAccept {
        var replayGuard = HelloReplayGuard()
        // Re-signed with the acceptor's secret, so even an impostor produces an accept to verify.
        guard case .accept(_, let reply) = handshake.evaluate(.hello(handshake.signed(hello)), nowMilliseconds: 1_000,
                                                              replayGuard: &replayGuard) else {
            preconditionFailure("test hello rejected")
        }
        return reply
    }

    func established() -> Machine {
        var machine = Machine(hello: hello, handshake: client, peer: peer, pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        guard case .handshakeCompleted("b") = machine.messageReceived(.helloAccept(accept(from: server)), at: at(0)) else {
            preconditionFailure("handshake did not complete")
        }
        return machine
    }

    func closeError(_ action: Machine.Action) -> (TransportError, [String], Bool)? {
        if case .close(let error, let calls, let handshakeFailed) = action { return (error, calls.sorted(), handshakeFailed) }
        return nil
    }

    @Test("a verified accept establishes the connection")
    func accepted() {
        var machine = established()
        #expect(!machine.isClosed)
        // Pings are answered.
        guard case .send(.pong(5)) = machine.messageReceived(.ping(5), at: at(10)) else {
            Issue.record("ping not answered")
            return
        }
    }

    @Test("the handshake fails on a reject, a forged accept, another node, another frame, or the timeout")
    func handshakeFailures() {
        func fresh() -> Machine {
            Machine(hello: hello, handshake: client, peer: peer, pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        }
        var rejected = fresh()
        let reject = closeError(rejected.messageReceived(.helloReject(HelloReject(code: .badProof, reason: "no")), at: at(0)))
        #expect(reject?.0.code == .handshakeRejected)
        #expect(reject?.2 == true)

        var forged = fresh()
        let impostor = ClusterHandshake(clusterID: "c", nodeID: "b", secret: Array("other".utf8))
        #expect(closeError(forged.messageReceived(.helloAccept(accept(from: impostor)), at: at(0)))?.0.code == .handshakeRejected)

        var otherNode = fresh()
        let nodeC = ClusterHandshake(clusterID: "c", nodeID: "c", secret: Self.secret)
        let wrongNode = closeError(otherNode.messageReceived(.helloAccept(accept(from: nodeC)), at: at(0)))
        #expect(wrongNode?.0.code == .handshakeRejected)
        #expect(wrongNode?.0.detail.contains("expected node 'b'") == true)

        var chatty = fresh()
        #expect(closeError(chatty.messageReceived(.ping(1), at: at(0)))?.0.code == .protocolViolation)

        var silent = fresh()
        let timeout = closeError(silent.handshakeTimedOut(after: .seconds(2)))
        #expect(timeout?.0.code == .unreachable)
        #expect(timeout?.2 == true)
        // Late events after closing do nothing.
        guard case .none = silent.messageReceived(.helloAccept(accept(from: server)), at: at(1)) else {
            Issue.record("closed machine reacted to a late accept")
            return
        }
    }

    @Test("a call is sent, gets its progress and completion, and unknown ids are ignored")
    func callLifecycle() {
        var machine = established()
        let id = machine.reserveCorrelationID()
        guard case .send = machine.callStarted(id, "call-1") else {
            Issue.record("call not sent")
            return
        }
        #expect(machine.openCallCount == 1)
        guard case .deliverProgress("call-1", 2, 20) = machine.messageReceived(.entitySyncProgress(correlationID: id, pages: 2, rows: 20), at: at(5)) else {
            Issue.record("progress not delivered")
            return
        }
        guard case .none = machine.messageReceived(.entitySyncProgress(correlationID: id + 100, pages: 1, rows: 1), at: at(6)) else {
            Issue.record("progress for an unknown id delivered")
            return
        }
        guard case .complete("call-1", .completed(.completed(pages: 3, rows: 30))) =
            machine.messageReceived(.entitySyncCompleted(correlationID: id, outcome: .completed(pages: 3, rows: 30)), at: at(7)) else {
            Issue.record("completion not delivered")
            return
        }
        #expect(machine.openCallCount == 0)
        // A duplicate completion is ignored.
        guard case .none = machine.messageReceived(.entitySyncCompleted(correlationID: id, outcome: .failed(reason: "x")), at: at(8)) else {
            Issue.record("duplicate completion delivered")
            return
        }

        let refusedID = machine.reserveCorrelationID()
        #expect(refusedID != id)
        _ = machine.callStarted(refusedID, "call-2")
        guard case .complete("call-2", .refused(.notOwner, "moved")) =
            machine.messageReceived(.entitySyncFailed(correlationID: refusedID, refusal: .notOwner, detail: "moved"), at: at(9)) else {
            Issue.record("refusal not delivered")
            return
        }
    }

    @Test("cancelling an open call sends cancel; cancelling before the start means it is never sent")
    func cancellation() {
        var machine = established()
        let open = machine.reserveCorrelationID()
        _ = machine.callStarted(open, "open")
        guard case .cancel("open", .cancel(correlationID: open)) = machine.callCancelled(open) else {
            Issue.record("cancel frame not produced")
            return
        }
        guard case .none = machine.messageReceived(.entitySyncCompleted(correlationID: open, outcome: .failed(reason: "late")), at: at(1)) else {
            Issue.record("reply after cancel delivered")
            return
        }

        let early = machine.reserveCorrelationID()
        guard case .none = machine.callCancelled(early) else {
            Issue.record("cancel before start produced an action")
            return
        }
        guard case .cancelledBeforeSend = machine.callStarted(early, "early") else {
            Issue.record("a call cancelled before its start was sent")
            return
        }
    }

    @Test("a silent peer is declared unresponsive and its open calls fail; a closed connection refuses new calls unsent")
    func peerUnresponsive() {
        var machine = established()
        let first = machine.reserveCorrelationID()
        _ = machine.callStarted(first, "first")
        let second = machine.reserveCorrelationID()
        _ = machine.callStarted(second, "second")
        guard case .send(.ping) = machine.livenessCheckDue(at: at(600)) else {
            Issue.record("no ping to a quiet peer")
            return
        }
        let dead = closeError(machine.livenessCheckDue(at: at(2_000)))
        #expect(dead?.0.code == .peerUnresponsive)
        #expect(dead?.1 == ["first", "second"])
        #expect(dead?.2 == false)

        let late = machine.reserveCorrelationID()
        guard case .notSent(let error) = machine.callStarted(late, "late"), error.code == .peerUnresponsive else {
            Issue.record("call on a dead connection was sent")
            return
        }
    }

    @Test("the connection closing fails open calls with connectionLost; frames an outbound side never receives are violations")
    func connectionLostAndViolations() {
        var machine = established()
        let id = machine.reserveCorrelationID()
        _ = machine.callStarted(id, "open")
        let lost = closeError(machine.channelClosed())
        #expect(lost?.0.code == .connectionLost)
        #expect(lost?.1 == ["open"])

        var violated = established()
        let request = EntitySyncRequest(correlationID: 1, idempotencyKey: "k", runID: "r", orgID: "o", entity: "e", leaderTerm: 1)
        #expect(closeError(violated.messageReceived(.entitySyncRequest(request), at: at(1)))?.0.code == .protocolViolation)

        var undecodable = established()
        let error = ClusterProtocolError(code: .unknownMessageType, messageType: 99, detail: "unknown")
        #expect(closeError(undecodable.decodeFailed(error))?.0.code == .protocolViolation)
    }
}

@Suite("Inbound connection state machine (pure)")
struct InboundConnectionStateMachineTests {
    typealias Machine = InboundConnectionStateMachine<String, TestInstant>

    let server = ClusterHandshake(clusterID: "c", nodeID: "b", secret: Array("s".utf8))
    let client = ClusterHandshake(clusterID: "c", nodeID: "a", secret: Array("s".utf8))

    func at(_ milliseconds: Int) -> TestInstant { .zero.advanced(by: .milliseconds(milliseconds)) }

    func decide(_ message: ClusterMessage) -> ClusterHandshake.Decision {
        var replayGuard = HelloReplayGuard()
        return server.evaluate(message, nowMilliseconds: 5_000, replayGuard: &replayGuard)
    }

    func established() -> Machine {
        var machine = Machine(pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        let hello = client.makeHello(nonce: Array(repeating: 1, count: 16), timestampMilliseconds: 5_000)
        guard case .accept(_, "a") = machine.messageReceived(.hello(hello), at: at(0), decideHello: decide) else {
            preconditionFailure("hello not accepted")
        }
        return machine
    }

    func request(_ id: UInt64) -> EntitySyncRequest {
        EntitySyncRequest(correlationID: id, idempotencyKey: "run/\(id)", runID: "run", orgID: "org", entity: "E\(id)", leaderTerm: 3)
    }

    func sent(_ action: Machine.Action) -> ClusterMessage? {
        if case .send(let message) = action { return message }
        return nil
    }

    @Test("the first frame decides: a hello is accepted, anything else or garbage is rejected")
    func handshake() {
        var rejected = Machine(pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        guard case .reject(let reject) = rejected.messageReceived(.ping(1), at: at(0), decideHello: decide) else {
            Issue.record("non-hello first frame accepted")
            return
        }
        #expect(reject.code == .handshakeRequired)
        guard case .none = rejected.messageReceived(.ping(2), at: at(1), decideHello: decide) else {
            Issue.record("a rejected connection kept reacting")
            return
        }

        var garbage = Machine(pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        guard case .reject(let malformed) = garbage.decodeFailed(ClusterProtocolError(code: .oversizedFrame, detail: "x"), handshake: server) else {
            Issue.record("garbage not rejected")
            return
        }
        #expect(malformed.code == .malformedHello)

        var slow = Machine(pingInterval: .milliseconds(500), peerTimeout: .seconds(2))
        guard case .reject(let timeout) = slow.handshakeTimedOut(reject: ClusterHandshake.timeoutReject(after: 2_000)) else {
            Issue.record("timeout not rejected")
            return
        }
        #expect(timeout.code == .handshakeTimeout)
        var done = established()
        guard case .none = done.handshakeTimedOut(reject: ClusterHandshake.timeoutReject(after: 2_000)) else {
            Issue.record("timeout after the handshake acted")
            return
        }
    }

    @Test("a request starts a handler whose reports become frames until it finishes")
    func requestLifecycle() {
        var machine = established()
        guard case .startHandler(let request, "a", let token) = machine.messageReceived(.entitySyncRequest(request(7)), at: at(1), decideHello: decide) else {
            Issue.record("handler not started")
            return
        }
        #expect(request == self.request(7))
        // Pings are answered with the same value, whatever else is going on.
        #expect(sent(machine.messageReceived(.ping(41), at: at(2), decideHello: decide)) == .pong(41))
        // Reports may come before the task handle is known.
        #expect(sent(machine.reported(.accepted, correlationID: 7, token: token)) == .entitySyncAccepted(correlationID: 7))
        guard case .none = machine.handlerStarted(correlationID: 7, token: token, "task-7") else {
            Issue.record("a live handler was cancelled")
            return
        }
        #expect(sent(machine.reported(.progress(pages: 1, rows: 10), correlationID: 7, token: token))
            == .entitySyncProgress(correlationID: 7, pages: 1, rows: 10))
        #expect(sent(machine.reported(.finished(.refused(.staleLeader, detail: "term 2 < 3")), correlationID: 7, token: token))
            == .entitySyncFailed(correlationID: 7, refusal: .staleLeader, detail: "term 2 < 3"))
        // After the finish, everything from that handler is dropped.
        #expect(sent(machine.reported(.progress(pages: 2, rows: 20), correlationID: 7, token: token)) == nil)
        #expect(sent(machine.handlerReturned(correlationID: 7, token: token)) == nil)
        #expect(machine.runningCount == 0)
    }

    @Test("a handler that returns without finishing answers interrupted")
    func handlerForgotToReply() {
        var machine = established()
        guard case .startHandler(_, _, let token) = machine.messageReceived(.entitySyncRequest(request(1)), at: at(1), decideHello: decide) else {
            Issue.record("handler not started")
            return
        }
        _ = machine.handlerStarted(correlationID: 1, token: token, "task")
        guard case .entitySyncFailed(1, .interrupted, _)? = sent(machine.handlerReturned(correlationID: 1, token: token)) else {
            Issue.record("no refusal for a handler that returned silently")
            return
        }
    }

    @Test("cancel cancels the running handler, also one whose task is still being created")
    func cancel() {
        var machine = established()
        guard case .startHandler(_, _, let token) = machine.messageReceived(.entitySyncRequest(request(1)), at: at(1), decideHello: decide) else {
            Issue.record("handler not started")
            return
        }
        _ = machine.handlerStarted(correlationID: 1, token: token, "task-1")
        guard case .cancelHandler("task-1") = machine.messageReceived(.cancel(correlationID: 1), at: at(2), decideHello: decide) else {
            Issue.record("running handler not cancelled")
            return
        }
        #expect(sent(machine.reported(.finished(.completed(.completed(pages: 1, rows: 1))), correlationID: 1, token: token)) == nil)

        guard case .startHandler(_, _, let secondToken) = machine.messageReceived(.entitySyncRequest(request(2)), at: at(3), decideHello: decide) else {
            Issue.record("handler not started")
            return
        }
        guard case .none = machine.messageReceived(.cancel(correlationID: 2), at: at(4), decideHello: decide) else {
            Issue.record("cancel of a starting handler acted early")
            return
        }
        guard case .cancelHandler("task-2") = machine.handlerStarted(correlationID: 2, token: secondToken, "task-2") else {
            Issue.record("handler cancelled while starting kept running")
            return
        }
    }

    @Test("a silent peer is dropped and its handlers cancelled; reports after that are no-ops")
    func silentPeer() {
        var machine = established()
        guard case .startHandler(_, _, let token) = machine.messageReceived(.entitySyncRequest(request(4)), at: at(100), decideHello: decide) else {
            Issue.record("handler not started")
            return
        }
        _ = machine.handlerStarted(correlationID: 4, token: token, "task-4")
        guard case .send(.ping) = machine.livenessCheckDue(at: at(700)) else {
            Issue.record("quiet peer not pinged")
            return
        }
        guard case .close(_, ["task-4"], peerTimedOut: true) = machine.livenessCheckDue(at: at(2_100)) else {
            Issue.record("silent peer not dropped")
            return
        }
        #expect(sent(machine.reported(.accepted, correlationID: 4, token: token)) == nil)
    }

    @Test("frames only a caller receives, a reused correlation id, and undecodable frames close the connection")
    func violations() {
        var unexpected = established()
        guard case .close = unexpected.messageReceived(.entitySyncCompleted(correlationID: 1, outcome: .failed(reason: "?")), at: at(1), decideHello: decide) else {
            Issue.record("unexpected frame tolerated")
            return
        }
        var reused = established()
        _ = reused.messageReceived(.entitySyncRequest(request(1)), at: at(1), decideHello: decide)
        guard case .close = reused.messageReceived(.entitySyncRequest(request(1)), at: at(2), decideHello: decide) else {
            Issue.record("reused correlation id tolerated")
            return
        }
        var undecodable = established()
        guard case .close = undecodable.decodeFailed(ClusterProtocolError(code: .malformedPayload, detail: "x"), handshake: server) else {
            Issue.record("undecodable frame tolerated")
            return
        }
    }
}
