import ClusterProtocol
import Logging
import NIOCore
import Synchronization

/// The shell around `InboundConnectionStateMachine` for one accepted connection: feeds it channel
/// events, timer ticks and handler reports, and carries out its actions (writes, handler tasks,
/// timers, closing).
final class InboundConnection: ClusterConnectionEvents {
    typealias Machine = InboundConnectionStateMachine<Task<Void, Never>, ContinuousClock.Instant>

    private struct State {
        var machine: Machine
        var handshakeTimer: Scheduled<Void>?
        var livenessTimer: RepeatedTask?

        var isClosed: Bool {
            if case .closed = machine.state { return true }
            return false
        }

        mutating func takeTimers() -> (Scheduled<Void>?, RepeatedTask?) {
            defer { handshakeTimer = nil; livenessTimer = nil }
            return (handshakeTimer, livenessTimer)
        }
    }

    let channel: any Channel
    let remoteAddress: String
    private let context: TransportContext
    private let onClose: @Sendable (InboundConnection) -> Void
    private let state: Mutex<State>

    init(channel: any Channel, context: TransportContext, onClose: @escaping @Sendable (InboundConnection) -> Void) {
        self.channel = channel
        self.remoteAddress = channel.remoteAddress?.description ?? "unknown"
        self.context = context
        self.onClose = onClose
        self.state = Mutex(State(machine: Machine(pingInterval: context.configuration.pingInterval,
                                                  peerTimeout: context.configuration.peerTimeout)))
    }

    /// Starts the handshake clock: a peer that does not send a hello in time is rejected.
    func start() {
        let timeout = context.configuration.handshakeTimeout
        state.withLock { state in
            state.handshakeTimer = channel.eventLoop.scheduleTask(in: timeout.timeAmount) {
                self.handle { $0.handshakeTimedOut(reject: ClusterHandshake.timeoutReject(after: timeout.wholeMilliseconds)) }
            }
        }
    }

    /// Ends the connection from this side (shutdown), cancelling its handlers.
    func closeRequested(_ reason: String) {
        handle { $0.channelClosed(reason) }
    }

    // MARK: ClusterConnectionEvents

    func messageReceived(_ message: ClusterMessage) {
        context.counters.increment(\.framesReceived)
        let now = ContinuousClock.now
        let context = self.context
        handle { machine in
            machine.messageReceived(message, at: now) { first in
                let wallClock = WallClock.millisecondsSinceEpoch()
                return context.replayGuard.withLock { replayGuard in
                    context.handshake.evaluate(first, nowMilliseconds: wallClock, replayGuard: &replayGuard)
                }
            }
        }
    }

    func errorCaught(_ error: any Error) {
        if let error = error as? ClusterProtocolError {
            context.counters.increment(\.frameErrors)
            let handshake = context.handshake
            handle { $0.decodeFailed(error, handshake: handshake) }
        } else if error is ByteToMessageDecoderError {
            // Bytes after a decode error: the connection is already closing.
        } else {
            handle { $0.channelClosed("\(error)") }
        }
    }

    func channelInactive() {
        handle { $0.channelClosed("connection closed by the peer") }
    }

    // MARK: Handler reports

    private func reported(_ report: EntitySyncReporter.Report, correlationID: UInt64, token: UInt64) {
        handle { $0.reported(report, correlationID: correlationID, token: token) }
    }

    private func handlerReturned(correlationID: UInt64, token: UInt64) {
        handle { $0.handlerReturned(correlationID: correlationID, token: token) }
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
            context.write(message, to: channel)

        case .accept(let reply, let peerNodeID):
            context.counters.increment(\.handshakesAccepted)
            context.counters.increment(\.connectionsOpened)
            let configuration = context.configuration
            let checkInterval = PeerLiveness<ContinuousClock.Instant>.checkInterval(
                pingInterval: configuration.pingInterval, peerTimeout: configuration.peerTimeout)
            let timer = state.withLock { state -> Scheduled<Void>? in
                defer { state.handshakeTimer = nil }
                guard !state.isClosed else { return state.handshakeTimer }
                state.livenessTimer = channel.eventLoop.scheduleRepeatedTask(initialDelay: checkInterval.timeAmount,
                                                                             delay: checkInterval.timeAmount) { _ in
                    let now = ContinuousClock.now
                    self.handle { $0.livenessCheckDue(at: now) }
                }
                return state.handshakeTimer
            }
            timer?.cancel()
            context.write(.helloAccept(reply), to: channel)
            context.logger.debug("accepted a peer", metadata: ["sync.peer": "\(peerNodeID)", "sync.peer.address": "\(remoteAddress)"])

        case .reject(let reject):
            // Counted before the frame goes out, so a peer that reads the reject sees the counter moved.
            context.counters.increment(\.handshakeRejects)
            cancelTimers()
            context.logger.warning("handshake rejected", metadata: [
                "sync.peer.address": "\(remoteAddress)", "sync.reject.code": "\(reject.code)", "sync.reason": "\(reject.reason)",
            ])
            let channel = self.channel
            if let frame = try? context.encoder.encode(.helloReject(reject), allocator: channel.allocator) {
                context.counters.increment(\.framesSent)
                channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
            onClose(self)

        case .startHandler(let request, let peerNodeID, let token):
            let correlationID = request.correlationID
            // Weak: a handler may keep its reporter after the connection is gone; reports are then dropped anyway.
            let reporter = EntitySyncReporter { [weak self] report in
                self?.reported(report, correlationID: correlationID, token: token)
            }
            let handler = context.handler
            let task = context.handlerTasks.start {
                await handler.handle(request, from: peerNodeID, reporter: reporter)
                self.handlerReturned(correlationID: correlationID, token: token)
            }
            if let task {
                handle { $0.handlerStarted(correlationID: correlationID, token: token, task) }
            } else {
                reporter.finish(.refused(.unavailable, detail: "the node is shutting down"))
            }

        case .cancelHandler(let task):
            task.cancel()

        case .close(let reason, let handlers, let peerTimedOut):
            cancelTimers()
            if peerTimedOut { context.counters.increment(\.peersTimedOut) }
            for task in handlers { task.cancel() }
            channel.close(promise: nil)
            if peerTimedOut {
                context.logger.warning("peer unresponsive; connection closed", metadata: [
                    "sync.peer.address": "\(remoteAddress)", "sync.reason": "\(reason)", "sync.requests.cancelled": "\(handlers.count)",
                ])
            } else {
                context.logger.debug("inbound connection closed", metadata: [
                    "sync.peer.address": "\(remoteAddress)", "sync.reason": "\(reason)", "sync.requests.cancelled": "\(handlers.count)",
                ])
            }
            onClose(self)
        }
    }

    private func cancelTimers() {
        let (handshakeTimer, livenessTimer) = state.withLock { $0.takeTimers() }
        handshakeTimer?.cancel()
        livenessTimer?.cancel()
    }
}
