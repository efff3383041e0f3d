import ClusterProtocol
import Logging
import NIOCore
import Synchronization

/// How one call on one connection ended, when it did not throw.
enum OutboundCallResult: Sendable {
    case reply(EntitySyncReply)
    /// The connection was already closed; the request never left, so another connection may carry it.
    case notSent(TransportError)
}

/// A caller waiting on a connection.
struct PendingCall: Sendable {
    let continuation: CheckedContinuation<OutboundCallResult, any Error>
    let onProgress: @Sendable (Int64, Int64) -> Void
}

/// The shell around `OutboundConnectionStateMachine` for one dialed connection: feeds it channel
/// events, timer ticks and calls, and carries out its actions (writes, timers, resuming callers).
final class OutboundConnection: ClusterConnectionEvents {
    typealias Machine = OutboundConnectionStateMachine<PendingCall, ContinuousClock.Instant>

    private enum HandshakeProgress {
        case pending(CheckedContinuation<Void, any Error>?)
        case succeeded
        case failed(TransportError)
    }

    private struct State {
        var machine: Machine
        var channel: (any Channel)?
        var handshake: HandshakeProgress = .pending(nil)
        var handshakeTimer: Scheduled<Void>?
        var livenessTimer: RepeatedTask?

        mutating func takeTimers() -> (Scheduled<Void>?, RepeatedTask?) {
            defer { handshakeTimer = nil; livenessTimer = nil }
            return (handshakeTimer, livenessTimer)
        }
    }

    let peer: ClusterPeer
    private let hello: Hello
    private let context: TransportContext
    private let onClose: @Sendable (OutboundConnection) -> Void
    private let state: Mutex<State>

    init(peer: ClusterPeer, hello: Hello, context: TransportContext, onClose: @escaping @Sendable (OutboundConnection) -> Void) {
        self.peer = peer
        self.hello = hello
        self.context = context
        self.onClose = onClose
        let configuration = context.configuration
        self.state = Mutex(State(machine: Machine(hello: hello, handshake: context.handshake, peer: peer,
                                                  pingInterval: configuration.pingInterval,
                                                  peerTimeout: configuration.peerTimeout)))
    }

    var isOpen: Bool { state.withLock { !$0.machine.isClosed } }

    /// Called from the channel initializer, before any byte can arrive.
    func attach(_ channel: any Channel) {
        state.withLock { $0.channel = channel }
    }

    /// Sends the hello and waits for the acceptor's verdict. Throws `TransportError`.
    func handshake() async throws {
        let configuration = context.configuration
        let channel: (any Channel)? = state.withLock { state in
            guard !state.machine.isClosed, let channel = state.channel else { return nil }
            let checkInterval = PeerLiveness<ContinuousClock.Instant>.checkInterval(
                pingInterval: configuration.pingInterval, peerTimeout: configuration.peerTimeout)
            state.handshakeTimer = channel.eventLoop.scheduleTask(in: configuration.handshakeTimeout.timeAmount) {
                self.handle { $0.handshakeTimedOut(after: configuration.handshakeTimeout) }
            }
            state.livenessTimer = channel.eventLoop.scheduleRepeatedTask(initialDelay: checkInterval.timeAmount,
                                                                         delay: checkInterval.timeAmount) { _ in
                let now = ContinuousClock.now
                self.handle { $0.livenessCheckDue(at: now) }
            }
            return channel
        }
        if let channel {
            context.write(.hello(hello), to: channel)
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result: Result<Void, TransportError>? = state.withLock { state in
                    switch state.handshake {
                    case .pending:
                        state.handshake = .pending(continuation)
                        return nil
                    case .succeeded:
                        return .success(())
                    case .failed(let error):
                        return .failure(error)
                    }
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            // Only the transport's shutdown cancels a dial.
            self.closeRequested(.shutDown, "the transport is shutting down")
        }
    }

    /// Sends the request and waits for its reply. Throws `TransportError` when the connection dies
    /// with the call open, `CancellationError` when the caller's task is cancelled (after sending
    /// `cancel` to the peer).
    func call(_ request: EntitySyncRequest, onProgress: @escaping @Sendable (Int64, Int64) -> Void) async throws -> OutboundCallResult {
        let (id, channel) = state.withLock { ($0.machine.reserveCorrelationID(), $0.channel) }
        var request = request
        request.correlationID = id
        let frame: ByteBuffer
        do {
            frame = try context.encoder.encode(.entitySyncRequest(request), allocator: channel?.allocator ?? ByteBufferAllocator())
        } catch {
            state.withLock { $0.machine.releaseCorrelationID(id) }
            context.counters.increment(\.frameErrors)
            throw TransportError(code: .protocolViolation, peer: peer.description, detail: "cannot send the request: \(error)")
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<OutboundCallResult, any Error>) in
                let action = state.withLock {
                    $0.machine.callStarted(id, PendingCall(continuation: continuation, onProgress: onProgress))
                }
                switch action {
                case .send:
                    if let channel { context.write(frame: frame, to: channel) }
                case .notSent(let error):
                    continuation.resume(returning: .notSent(error))
                case .cancelledBeforeSend:
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let action = self.state.withLock { $0.machine.callCancelled(id) }
            if case .cancel(let call, let frame) = action {
                if let frame, let channel { self.context.write(frame, to: channel) }
                call.continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Ends the connection from this side, failing its open calls with `code`.
    func closeRequested(_ code: TransportError.Code, _ detail: String) {
        handle { $0.closeRequested(code, detail) }
    }

    /// Completes once the channel is closed (at once if it never opened).
    func closed() async {
        let channel = state.withLock { $0.channel }
        try? await channel?.closeFuture.get()
    }

    // MARK: ClusterConnectionEvents

    func messageReceived(_ message: ClusterMessage) {
        context.counters.increment(\.framesReceived)
        let now = ContinuousClock.now
        handle { $0.messageReceived(message, at: now) }
    }

    func errorCaught(_ error: any Error) {
        if let error = error as? ClusterProtocolError {
            context.counters.increment(\.frameErrors)
            handle { $0.decodeFailed(error) }
        } else if error is ByteToMessageDecoderError {
            // Bytes after a decode error: the connection is already closing.
        } else {
            handle { $0.channelFailed("\(error)") }
        }
    }

    func channelInactive() {
        handle { $0.channelClosed() }
    }

    // MARK: Carrying out actions

    private func handle(_ event: (inout Machine) -> Machine.Action) {
        let action = state.withLock { event(&$0.machine) }
        perform(action)
    }

    private func perform(_ action: Machine.Action) {
        switch action {
        case .none:
            break
        case .send(let message):
            if let channel = state.withLock({ $0.channel }) {
                context.write(message, to: channel)
            }
        case .handshakeCompleted(let peerNodeID):
            let (continuation, timer) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, Scheduled<Void>?) in
                guard case .pending(let continuation) = state.handshake else { return (nil, nil) }
                state.handshake = .succeeded
                defer { state.handshakeTimer = nil }
                return (continuation, state.handshakeTimer)
            }
            timer?.cancel()
            context.counters.increment(\.connectionsOpened)
            context.logger.debug("connected", metadata: ["sync.peer": "\(peerNodeID)", "sync.peer.address": "\(peer.host):\(peer.port)"])
            continuation?.resume()
        case .deliverProgress(let call, let pages, let rows):
            call.onProgress(pages, rows)
        case .complete(let call, let reply):
            call.continuation.resume(returning: .reply(reply))
        case .close(let error, let calls, let handshakeFailed):
            let (channel, timers, continuation) = state.withLock { state -> ((any Channel)?, (Scheduled<Void>?, RepeatedTask?), CheckedContinuation<Void, any Error>?) in
                var continuation: CheckedContinuation<Void, any Error>?
                if handshakeFailed, case .pending(let waiting) = state.handshake {
                    continuation = waiting
                    state.handshake = .failed(error)
                }
                return (state.channel, state.takeTimers(), continuation)
            }
            timers.0?.cancel()
            timers.1?.cancel()
            // Counted before anyone is told, so a caller that sees the error sees the counter moved.
            if error.code == .peerUnresponsive { context.counters.increment(\.peersTimedOut) }
            continuation?.resume(throwing: error)
            for call in calls {
                call.continuation.resume(throwing: error)
            }
            channel?.close(promise: nil)
            if error.code == .peerUnresponsive {
                context.logger.warning("peer unresponsive; connection closed", metadata: [
                    "sync.peer": "\(peer)", "sync.reason": "\(error.detail)", "sync.calls.failed": "\(calls.count)",
                ])
            } else if !calls.isEmpty || error.code == .protocolViolation {
                context.logger.warning("connection closed with calls open", metadata: [
                    "sync.peer": "\(peer)", "sync.reason": "\(error)", "sync.calls.failed": "\(calls.count)",
                ])
            } else {
                context.logger.debug("connection closed", metadata: ["sync.peer": "\(peer)", "sync.reason": "\(error)"])
            }
            onClose(self)
        }
    }
}
