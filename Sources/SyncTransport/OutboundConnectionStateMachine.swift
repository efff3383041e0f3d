import ClusterProtocol

/// The dialing side of one connection: the handshake, the calls multiplexed on it by correlation
/// id, and the peer's liveness. Pure: the owner feeds it events (named after what happened) and
/// carries out the returned action; `Call` is whatever the owner needs to answer a caller.
struct OutboundConnectionStateMachine<Call, Instant: InstantProtocol> where Instant.Duration == Duration {
    enum State {
        /// Hello sent; waiting for the acceptor. Next: `established` on a valid accept, `closed` on
        /// a reject, a bad proof, the handshake timeout, or the connection closing.
        case handshaking(Hello)
        /// Calls may start. Next: `closed`.
        case established(peerNodeID: String, liveness: PeerLiveness<Instant>)
        /// Terminal: every later call is told `error`.
        case closed(TransportError)
    }

    enum Action {
        case none
        case send(ClusterMessage)
        /// The connection may be handed to callers.
        case handshakeCompleted(peerNodeID: String)
        case deliverProgress(Call, pages: Int64, rows: Int64)
        case complete(Call, EntitySyncReply)
        /// Close the channel; fail each call in `failing` with `error`, and the connect attempt too
        /// when `handshakeFailed`.
        case close(TransportError, failing: [Call], handshakeFailed: Bool)
    }

    enum CallStartAction {
        /// Write the request frame.
        case send
        /// Nothing was written: the caller may safely try another connection (unless `.shutDown`).
        case notSent(TransportError)
        /// The caller's task was cancelled before the request went out.
        case cancelledBeforeSend
    }

    enum CallCancelAction {
        case none
        /// Tell the caller it was cancelled; send `frame` if there is one.
        case cancel(Call, frame: ClusterMessage?)
    }

    fileprivate enum Slot {
        case reserved
        case cancelledBeforeStart
        case pending(Call)
    }

    private(set) var state: State
    private var slots: [UInt64: Slot] = [:]
    private var lastCorrelationID: UInt64 = 0
    private let handshake: ClusterHandshake
    private let peer: ClusterPeer
    private let pingInterval: Duration
    private let peerTimeout: Duration

    init(hello: Hello, handshake: ClusterHandshake, peer: ClusterPeer, pingInterval: Duration, peerTimeout: Duration) {
        self.state = .handshaking(hello)
        self.handshake = handshake
        self.peer = peer
        self.pingInterval = pingInterval
        self.peerTimeout = peerTimeout
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Calls waiting for a reply.
    var openCallCount: Int {
        slots.values.reduce(0) { count, slot in
            if case .pending = slot { return count + 1 }
            return count
        }
    }

    // MARK: Channel events

    mutating func messageReceived(_ message: ClusterMessage, at now: Instant) -> Action {
        switch state {
        case .handshaking(let hello):
            switch message {
            case .helloAccept(let accept):
                guard handshake.verify(accept, answering: hello) else {
                    return close(.handshakeRejected, "the peer could not prove the cluster secret (check SYNC_CLUSTER_SECRET)")
                }
                guard accept.nodeID == peer.nodeID else {
                    return close(.handshakeRejected, "expected node '\(peer.nodeID)' at this address, found '\(accept.nodeID)'")
                }
                state = .established(peerNodeID: accept.nodeID,
                                     liveness: PeerLiveness(now: now, pingInterval: pingInterval, peerTimeout: peerTimeout))
                return .handshakeCompleted(peerNodeID: accept.nodeID)
            case .helloReject(let reject):
                return close(.handshakeRejected, "rejected (\(reject.code)): \(reject.reason)")
            default:
                return close(.protocolViolation, "expected helloAccept or helloReject, got \(message.type)")
            }

        case .established(let peerNodeID, var liveness):
            liveness.frameReceived(at: now)
            state = .established(peerNodeID: peerNodeID, liveness: liveness)
            switch message {
            case .ping(let value):
                return .send(.pong(value))
            case .pong, .entitySyncAccepted:
                return .none
            case .entitySyncProgress(let correlationID, let pages, let rows):
                guard case .pending(let call) = slots[correlationID] else { return .none }
                return .deliverProgress(call, pages: pages, rows: rows)
            case .entitySyncCompleted(let correlationID, let outcome):
                guard case .pending(let call) = slots.removeValue(forKey: correlationID) else { return .none }
                return .complete(call, .completed(outcome))
            case .entitySyncFailed(let correlationID, let refusal, let detail):
                guard case .pending(let call) = slots.removeValue(forKey: correlationID) else { return .none }
                return .complete(call, .refused(refusal, detail: detail))
            case .hello, .helloAccept, .helloReject, .entitySyncRequest, .cancel:
                return close(.protocolViolation, "unexpected \(message.type) frame on an outbound connection")
            }

        case .closed:
            return .none
        }
    }

    mutating func decodeFailed(_ error: ClusterProtocolError) -> Action {
        close(.protocolViolation, error.description)
    }

    /// An I/O error (reset, broken pipe).
    mutating func channelFailed(_ description: String) -> Action {
        close(.connectionLost, description)
    }

    mutating func channelClosed() -> Action {
        close(.connectionLost, "connection closed by the peer")
    }

    mutating func handshakeTimedOut(after timeout: Duration) -> Action {
        guard case .handshaking = state else { return .none }
        return close(.unreachable, "no answer to hello within \(timeout)")
    }

    mutating func livenessCheckDue(at now: Instant) -> Action {
        guard case .established(let peerNodeID, var liveness) = state else { return .none }
        let action = liveness.checkDue(at: now)
        state = .established(peerNodeID: peerNodeID, liveness: liveness)
        switch action {
        case .none:
            return .none
        case .sendPing(let value):
            return .send(.ping(value))
        case .declareDead(let silence):
            return close(.peerUnresponsive, "no frame for \(silence) (timeout \(peerTimeout))")
        }
    }

    /// The transport is shutting down (or dropping the connection for another reason of its own).
    mutating func closeRequested(_ code: TransportError.Code, _ detail: String) -> Action {
        close(code, detail)
    }

    // MARK: Calls

    /// A fresh correlation id for a call about to start; the slot exists from now on so a
    /// cancellation that arrives before `callStarted` is not lost.
    mutating func reserveCorrelationID() -> UInt64 {
        lastCorrelationID &+= 1
        slots[lastCorrelationID] = .reserved
        return lastCorrelationID
    }

    /// The call was abandoned before starting (its request could not be framed).
    mutating func releaseCorrelationID(_ id: UInt64) {
        slots.removeValue(forKey: id)
    }

    mutating func callStarted(_ id: UInt64, _ call: Call) -> CallStartAction {
        switch state {
        case .closed(let error):
            slots.removeValue(forKey: id)
            return .notSent(error)
        case .handshaking:
            preconditionFailure("call \(id) started on \(peer) before its handshake completed: \(state)")
        case .established:
            switch slots[id] {
            case .reserved:
                slots[id] = .pending(call)
                return .send
            case .cancelledBeforeStart:
                slots.removeValue(forKey: id)
                return .cancelledBeforeSend
            case .pending, nil:
                preconditionFailure("call \(id) on \(peer) started twice or never reserved: \(String(describing: slots[id]))")
            }
        }
    }

    mutating func callCancelled(_ id: UInt64) -> CallCancelAction {
        switch slots[id] {
        case .reserved:
            slots[id] = .cancelledBeforeStart
            return .none
        case .pending(let call):
            slots.removeValue(forKey: id)
            if case .established = state {
                return .cancel(call, frame: .cancel(correlationID: id))
            }
            return .cancel(call, frame: nil)
        case .cancelledBeforeStart, nil:
            return .none
        }
    }

    // MARK: Closing

    private mutating func close(_ code: TransportError.Code, _ detail: String) -> Action {
        switch state {
        case .closed:
            return .none
        case .handshaking, .established:
            let wasHandshaking: Bool
            if case .handshaking = state { wasHandshaking = true } else { wasHandshaking = false }
            let error = TransportError(code: code, peer: peer.description, detail: detail)
            state = .closed(error)
            var failing: [Call] = []
            for (id, slot) in slots {
                if case .pending(let call) = slot {
                    failing.append(call)
                    slots.removeValue(forKey: id)
                }
            }
            return .close(error, failing: failing, handshakeFailed: wasHandshaking)
        }
    }
}

extension OutboundConnectionStateMachine: Sendable where Call: Sendable {}
extension OutboundConnectionStateMachine.State: Sendable where Call: Sendable {}
extension OutboundConnectionStateMachine.Action: Sendable where Call: Sendable {}
extension OutboundConnectionStateMachine.CallStartAction: Sendable where Call: Sendable {}
extension OutboundConnectionStateMachine.CallCancelAction: Sendable where Call: Sendable {}
extension OutboundConnectionStateMachine.Slot: Sendable where Call: Sendable {}
