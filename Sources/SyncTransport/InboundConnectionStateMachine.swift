import ClusterProtocol

/// The accepting side of one connection: the handshake, the requests it runs (one handler task per
/// correlation id), and the peer's liveness. Pure: `Handle` is whatever the owner uses to cancel a
/// running handler; time and the hello decision come in as arguments.
struct InboundConnectionStateMachine<Handle, Instant: InstantProtocol> where Instant.Duration == Duration {
    enum State {
        /// Nothing accepted yet. Next: `established` on a valid hello; `closed` on anything else,
        /// on the handshake timeout, or when the connection closes.
        case awaitingHello
        /// Requests may arrive. Next: `closed`.
        case established(peerNodeID: String, liveness: PeerLiveness<Instant>)
        /// Terminal: reports and late events are dropped.
        case closed
    }

    enum Action {
        case none
        case send(ClusterMessage)
        /// Send the accept; the peer is `peerNodeID` from now on.
        case accept(HelloAccept, peerNodeID: String)
        /// Send the reject, then close.
        case reject(HelloReject)
        /// Start a handler task for the request, then report it with `handlerStarted`.
        case startHandler(EntitySyncRequest, peerNodeID: String, token: UInt64)
        case cancelHandler(Handle)
        /// Close the channel and cancel every handler in `cancelling`.
        case close(reason: String, cancelling: [Handle], peerTimedOut: Bool)
    }

    fileprivate enum Running {
        /// `startHandler` returned; the task's handle is not known yet.
        case starting(token: UInt64)
        case running(token: UInt64, Handle)

        var token: UInt64 {
            switch self {
            case .starting(let token), .running(let token, _): token
            }
        }
    }

    private(set) var state: State = .awaitingHello
    /// By correlation id. A token tells a request from a later one that reuses its id.
    private var running: [UInt64: Running] = [:]
    private var lastToken: UInt64 = 0
    private let pingInterval: Duration
    private let peerTimeout: Duration

    init(pingInterval: Duration, peerTimeout: Duration) {
        self.pingInterval = pingInterval
        self.peerTimeout = peerTimeout
    }

    var runningCount: Int { running.count }

    // MARK: Channel events

    /// `decideHello` is asked only about the first frame.
    mutating func messageReceived(_ message: ClusterMessage, at now: Instant,
                                  decideHello: (ClusterMessage) -> ClusterHandshake.Decision) -> Action {
        switch state {
        case .awaitingHello:
            switch decideHello(message) {
            case .accept(let peerNodeID, let reply):
                state = .established(peerNodeID: peerNodeID,
                                     liveness: PeerLiveness(now: now, pingInterval: pingInterval, peerTimeout: peerTimeout))
                return .accept(reply, peerNodeID: peerNodeID)
            case .reject(let reject):
                state = .closed
                return .reject(reject)
            }

        case .established(let peerNodeID, var liveness):
            liveness.frameReceived(at: now)
            state = .established(peerNodeID: peerNodeID, liveness: liveness)
            switch message {
            case .ping(let value):
                return .send(.pong(value))
            case .pong:
                return .none
            case .entitySyncRequest(let request):
                guard running[request.correlationID] == nil else {
                    return close("correlation id \(request.correlationID) reused while its request is running")
                }
                lastToken &+= 1
                running[request.correlationID] = .starting(token: lastToken)
                return .startHandler(request, peerNodeID: peerNodeID, token: lastToken)
            case .cancel(let correlationID):
                // A cancel for a request that already finished crossed its reply on the wire: nothing to do.
                guard case .running(_, let handle) = running.removeValue(forKey: correlationID) else { return .none }
                return .cancelHandler(handle)
            case .hello, .helloAccept, .helloReject, .entitySyncAccepted, .entitySyncProgress,
                 .entitySyncCompleted, .entitySyncFailed:
                return close("unexpected \(message.type) frame on an inbound connection")
            }

        case .closed:
            return .none
        }
    }

    mutating func decodeFailed(_ error: ClusterProtocolError, handshake: ClusterHandshake) -> Action {
        switch state {
        case .awaitingHello:
            guard case .reject(let reject) = handshake.evaluate(undecodableFirstFrame: error) else {
                preconditionFailure("an undecodable first frame was accepted: \(error)")
            }
            state = .closed
            return .reject(reject)
        case .established:
            return close(error.description)
        case .closed:
            return .none
        }
    }

    mutating func handshakeTimedOut(reject: HelloReject) -> Action {
        guard case .awaitingHello = state else { return .none }
        state = .closed
        return .reject(reject)
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
            return close("peer silent for \(silence) (timeout \(peerTimeout))", peerTimedOut: true)
        }
    }

    /// The channel closed or failed; also how the transport's shutdown ends a connection.
    mutating func channelClosed(_ reason: String) -> Action {
        close(reason)
    }

    // MARK: Handlers

    /// The task for `startHandler(_, token:)` exists now.
    mutating func handlerStarted(correlationID: UInt64, token: UInt64, _ handle: Handle) -> Action {
        guard case .starting(token) = running[correlationID] else {
            // Cancelled, or the connection closed, while the task was being created.
            return .cancelHandler(handle)
        }
        running[correlationID] = .running(token: token, handle)
        return .none
    }

    mutating func reported(_ report: EntitySyncReporter.Report, correlationID: UInt64, token: UInt64) -> Action {
        guard case .established = state, running[correlationID]?.token == token else { return .none }
        switch report {
        case .accepted:
            return .send(.entitySyncAccepted(correlationID: correlationID))
        case .progress(let pages, let rows):
            return .send(.entitySyncProgress(correlationID: correlationID, pages: pages, rows: rows))
        case .finished(let reply):
            running.removeValue(forKey: correlationID)
            switch reply {
            case .completed(let outcome):
                return .send(.entitySyncCompleted(correlationID: correlationID, outcome: outcome))
            case .refused(let refusal, let detail):
                return .send(.entitySyncFailed(correlationID: correlationID, refusal: refusal, detail: detail))
            }
        }
    }

    /// The handler returned. If it never finished, the caller is told so rather than left waiting.
    mutating func handlerReturned(correlationID: UInt64, token: UInt64) -> Action {
        reported(.finished(.refused(.interrupted, detail: "the handler returned without a reply")),
                 correlationID: correlationID, token: token)
    }

    // MARK: Closing

    private mutating func close(_ reason: String, peerTimedOut: Bool = false) -> Action {
        if case .closed = state { return .none }
        state = .closed
        let handles = running.values.compactMap { entry -> Handle? in
            if case .running(_, let handle) = entry { return handle }
            return nil
        }
        running.removeAll()
        return .close(reason: reason, cancelling: handles, peerTimedOut: peerTimedOut)
    }
}

extension InboundConnectionStateMachine: Sendable where Handle: Sendable {}
extension InboundConnectionStateMachine.State: Sendable where Handle: Sendable {}
extension InboundConnectionStateMachine.Action: Sendable where Handle: Sendable {}
extension InboundConnectionStateMachine.Running: Sendable where Handle: Sendable {}
