import ClusterProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One handshaken connection per peer, dialed on first use and again after it is lost. Callers
/// that want the same peer while it is being dialed wait for that one dial.
final class PeerConnectionPool: Sendable {
    private typealias Waiter = CheckedContinuation<OutboundConnection, any Error>

    private enum Entry {
        case dialing(waiters: [UInt64: Waiter], task: Task<Void, Never>)
        case connected(OutboundConnection)
    }

    private struct State {
        var entries: [ClusterPeer: Entry] = [:]
        /// Peers this pool has dialed before: a later dial to them counts as a reconnect.
        var dialedBefore: Set<ClusterPeer> = []
        var lastWaiterID: UInt64 = 0
        /// Waiters whose task was cancelled before they were registered.
        var cancelledWaiters: Set<UInt64> = []
        var isShutDown = false
    }

    private let context: TransportContext
    private let state = Mutex(State())

    init(context: TransportContext) {
        self.context = context
    }

    /// The peer's open connection, dialing it (with backoff, `connectAttempts` times) if needed.
    /// Throws `TransportError` (`.unreachable`, `.handshakeRejected`, `.shutDown`) or `CancellationError`.
    func connection(to peer: ClusterPeer) async throws -> OutboundConnection {
        let waiterID = state.withLock { state in
            state.lastWaiterID &+= 1
            return state.lastWaiterID
        }
        // Once the handler is gone no cancellation can mark this waiter any more: drop a mark left
        // by one that raced with the answer.
        defer { state.withLock { _ = $0.cancelledWaiters.remove(waiterID) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                enum Next {
                    case ready(OutboundConnection)
                    case fail(any Error)
                    case wait
                }
                let next: Next = state.withLock { state in
                    if state.isShutDown {
                        return .fail(TransportError(code: .shutDown, peer: peer.description, detail: "the transport is shutting down"))
                    }
                    if state.cancelledWaiters.remove(waiterID) != nil {
                        return .fail(CancellationError())
                    }
                    if case .connected(let connection) = state.entries[peer], !connection.isOpen {
                        // Closed, and its notice is on the way: do not hand it out again.
                        state.entries[peer] = nil
                    }
                    switch state.entries[peer] {
                    case .connected(let connection):
                        return .ready(connection)
                    case .dialing(var waiters, let task):
                        waiters[waiterID] = waiter
                        state.entries[peer] = .dialing(waiters: waiters, task: task)
                        return .wait
                    case nil:
                        let task = Task { await self.dial(peer) }
                        state.entries[peer] = .dialing(waiters: [waiterID: waiter], task: task)
                        return .wait
                    }
                }
                switch next {
                case .ready(let connection): waiter.resume(returning: connection)
                case .fail(let error): waiter.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                for (peer, entry) in state.entries {
                    if case .dialing(var waiters, let task) = entry, let waiter = waiters.removeValue(forKey: waiterID) {
                        state.entries[peer] = .dialing(waiters: waiters, task: task)
                        return waiter
                    }
                }
                state.cancelledWaiters.insert(waiterID)
                return nil
            }
            // The dial itself goes on: another caller may want it, and a pooled connection is cheap.
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Whether an open connection to `peer` is pooled (for tests and status pages).
    func hasOpenConnection(to peer: ClusterPeer) -> Bool {
        state.withLock { state in
            if case .connected(let connection) = state.entries[peer] { return connection.isOpen }
            return false
        }
    }

    /// Closes every connection (their open calls fail with `.shutDown`), stops dials, and refuses
    /// new callers.
    func shutdown() async {
        let (connections, dials, waiters) = state.withLock { state in
            state.isShutDown = true
            var connections: [OutboundConnection] = []
            var dials: [Task<Void, Never>] = []
            var waiters: [Waiter] = []
            for entry in state.entries.values {
                switch entry {
                case .connected(let connection): connections.append(connection)
                case .dialing(let dialWaiters, let task):
                    dials.append(task)
                    waiters.append(contentsOf: dialWaiters.values)
                }
            }
            state.entries.removeAll()
            return (connections, dials, waiters)
        }
        let error = TransportError(code: .shutDown, peer: context.configuration.nodeID, detail: "the transport is shutting down")
        for waiter in waiters { waiter.resume(throwing: error) }
        for dial in dials { dial.cancel() }
        for connection in connections { connection.closeRequested(.shutDown, "the transport is shutting down") }
        for dial in dials { await dial.value }
        for connection in connections { await connection.closed() }
    }

    // MARK: Dialing

    private func dial(_ peer: ClusterPeer) async {
        let configuration = context.configuration
        var backoff = ReconnectBackoff(initial: configuration.reconnectDelay, maximum: configuration.maximumReconnectDelay)
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            let isReconnect = state.withLock { state in
                defer { state.dialedBefore.insert(peer) }
                return state.dialedBefore.contains(peer)
            }
            if isReconnect { context.counters.increment(\.reconnects) }
            let failure: TransportError
            do {
                let connection = try await connectOnce(peer)
                finishDial(peer, .success(connection))
                return
            } catch let error as TransportError {
                failure = error
            } catch {
                failure = TransportError(code: .unreachable, peer: peer.description, detail: "\(error)")
            }
            switch failure.code {
            case .handshakeRejected, .shutDown, .protocolViolation:
                finishDial(peer, .failure(failure))
                return
            case .unreachable, .connectionLost, .peerUnresponsive, .listenFailed:
                break
            }
            guard attempt < max(configuration.connectAttempts, 1) else {
                finishDial(peer, .failure(TransportError(code: .unreachable, peer: peer.description,
                                                         detail: "\(attempt) connect attempts failed; last: \(failure.detail)")))
                return
            }
            context.logger.debug("connect attempt failed", metadata: [
                "sync.peer": "\(peer)", "sync.attempt": "\(attempt)", "sync.reason": "\(failure.detail)",
            ])
            do {
                try await Task.sleep(for: backoff.nextDelay(using: &generator))
            } catch {
                finishDial(peer, .failure(TransportError(code: .shutDown, peer: peer.description, detail: "the transport is shutting down")))
                return
            }
        }
    }

    private func connectOnce(_ peer: ClusterPeer) async throws -> OutboundConnection {
        try Task.checkCancellation()
        let context = self.context
        var generator = SystemRandomNumberGenerator()
        let hello = context.handshake.makeHello(timestampMilliseconds: WallClock.millisecondsSinceEpoch(), using: &generator)
        let connection = OutboundConnection(peer: peer, hello: hello, context: context) { [weak self] closed in
            self?.connectionClosed(closed)
        }
        do {
            _ = try await ClientBootstrap(group: context.group)
                .connectTimeout(context.configuration.connectTimeout.timeAmount)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        connection.attach(channel)
                        try context.configurePipeline(channel, events: connection)
                    }
                }
                .connect(host: peer.host, port: peer.port)
                .get()
        } catch {
            throw TransportError(code: .unreachable, peer: peer.description, detail: "connect failed: \(error)")
        }
        try await connection.handshake()
        return connection
    }

    private func finishDial(_ peer: ClusterPeer, _ result: Result<OutboundConnection, TransportError>) {
        let (waiters, connectionToClose) = state.withLock { state -> ([Waiter], OutboundConnection?) in
            guard case .dialing(let waiters, _) = state.entries[peer] else {
                // Shut down meanwhile: nobody may use the connection.
                return ([], try? result.get())
            }
            state.entries[peer] = nil
            if case .success(let connection) = result, connection.isOpen {
                state.entries[peer] = .connected(connection)
            }
            return (Array(waiters.values), nil)
        }
        connectionToClose?.closeRequested(.shutDown, "the transport is shutting down")
        for waiter in waiters {
            // A connection that closed already still goes to the waiters: their call finds it
            // closed before sending and comes back for a new one.
            waiter.resume(with: result.mapError { $0 as any Error })
        }
    }

    private func connectionClosed(_ connection: OutboundConnection) {
        state.withLock { state in
            if case .connected(let pooled) = state.entries[connection.peer], pooled === connection {
                state.entries[connection.peer] = nil
            }
        }
    }
}
