import ClusterProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Node-to-node messaging over TCP: accepts connections from other nodes and hands their entity-sync
/// requests to the handler, and calls other nodes over one pooled, handshaken connection per peer.
///
/// Connections are directional: a node's calls travel over connections it dialed, and requests to
/// it arrive over connections it accepted. Both ends ping a quiet peer and drop one that stays
/// silent for `peerTimeout`.
public final class ClusterTransport: Sendable {
    private enum Lifecycle {
        case idle
        case starting
        case listening(any Channel)
        case shutDown
    }

    private struct Inbound {
        var connections: [ObjectIdentifier: InboundConnection] = [:]
        var isClosed = false
    }

    private let context: TransportContext
    private let pool: PeerConnectionPool
    private let lifecycle = Mutex(Lifecycle.idle)
    private let inbound = Mutex(Inbound())

    public init(configuration: ClusterTransportConfiguration, group: any EventLoopGroup, handler: any EntitySyncHandler, logger: Logger) {
        var logger = logger
        logger[metadataKey: "sync.node"] = "\(configuration.nodeID)"
        self.context = TransportContext(configuration: configuration, group: group, handler: handler, logger: logger)
        self.pool = PeerConnectionPool(context: context)
    }

    public var counters: TransportCounters { context.counters.snapshot }

    /// Whether a handshaken connection to `peer` is open now (it is dialed on the first call).
    public func isConnected(to peer: ClusterPeer) -> Bool {
        pool.hasOpenConnection(to: peer)
    }

    /// Binds and starts accepting; returns the bound port. Calling it again returns the same port.
    public func start() async throws -> Int {
        let configuration = context.configuration
        let proceed: Result<Int?, TransportError> = lifecycle.withLock { lifecycle in
            switch lifecycle {
            case .idle:
                lifecycle = .starting
                return .success(nil)
            case .listening(let channel):
                return .success(channel.localAddress?.port ?? configuration.port)
            case .starting:
                return .failure(TransportError(code: .listenFailed, peer: "\(configuration.host):\(configuration.port)",
                                               detail: "start() is already running"))
            case .shutDown:
                return .failure(TransportError(code: .shutDown, peer: "\(configuration.host):\(configuration.port)",
                                               detail: "the transport was shut down"))
            }
        }
        if let port = try proceed.get() { return port }
        if configuration.secret.count < 16 {
            context.logger.warning("the cluster secret is shorter than 16 bytes; any node that guesses it can join")
        }

        let context = self.context
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: context.group)
                .serverChannelOption(.backlog, value: 256)
                // Lets a restarted node bind its port again while old connections linger in TIME_WAIT.
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let self else { throw ChannelError.ioOnClosedChannel }
                        let connection = InboundConnection(channel: channel, context: context) { [weak self] closed in
                            self?.inboundClosed(closed)
                        }
                        try context.configurePipeline(channel, events: connection)
                        guard self.registerInbound(connection) else { throw ChannelError.ioOnClosedChannel }
                        connection.start()
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            lifecycle.withLock { if case .starting = $0 { $0 = .idle } }
            throw TransportError(code: .listenFailed, peer: "\(configuration.host):\(configuration.port)", detail: "cannot listen: \(error)")
        }
        let stillWanted = lifecycle.withLock { lifecycle in
            guard case .starting = lifecycle else { return false }
            lifecycle = .listening(channel)
            return true
        }
        guard stillWanted else {
            try? await channel.close()
            throw TransportError(code: .shutDown, peer: "\(configuration.host):\(configuration.port)", detail: "shut down while starting")
        }
        let port = channel.localAddress?.port ?? configuration.port
        context.logger.info("cluster transport listening", metadata: ["sync.address": "\(configuration.host):\(port)"])
        return port
    }

    /// Sends the request to the peer over a pooled, handshaken connection (connecting or
    /// reconnecting with backoff, each attempt bounded by `connectTimeout`, `connectAttempts`
    /// attempts; then `.unreachable`) and waits for its completion or refusal; progress totals go to
    /// `onProgress`, called on an event loop (keep it short).
    ///
    /// The transport assigns the request's correlation id. If the connection dies or the peer stops
    /// answering pings while the call is open, throws `.connectionLost` / `.peerUnresponsive`: the
    /// caller re-resolves the owner and re-sends (the idempotency key makes that harmless).
    /// Cancelling the calling task sends `cancel` to the peer and throws `CancellationError`.
    public func call(_ request: EntitySyncRequest, to peer: ClusterPeer,
                     onProgress: @escaping @Sendable (Int64, Int64) -> Void) async throws -> EntitySyncReply {
        var notSent: TransportError?
        // A pooled connection can turn out closed before the request left; only then is it safe
        // (and cheap) to try another one at once.
        for _ in 0..<3 {
            try Task.checkCancellation()
            let connection = try await pool.connection(to: peer)
            switch try await connection.call(request, onProgress: onProgress) {
            case .reply(let reply):
                return reply
            case .notSent(let error):
                if error.code == .shutDown { throw error }
                notSent = error
            }
        }
        throw notSent ?? TransportError(code: .connectionLost, peer: peer.description, detail: "no open connection")
    }

    /// Stops accepting, closes every connection (open calls fail with `.shutDown` on this side and
    /// `.connectionLost` on the callers' side), cancels the handlers of inbound requests and waits
    /// for them to return. Idempotent.
    public func shutdown() async {
        let listener: (any Channel)? = lifecycle.withLock { lifecycle in
            defer { lifecycle = .shutDown }
            if case .listening(let channel) = lifecycle { return channel }
            return nil
        }
        try? await listener?.close()
        let connections = inbound.withLock { inbound in
            inbound.isClosed = true
            return Array(inbound.connections.values)
        }
        for connection in connections { connection.closeRequested("the transport is shutting down") }
        await pool.shutdown()
        await context.handlerTasks.shutdown()
        for connection in connections { try? await connection.channel.closeFuture.get() }
    }

    private func registerInbound(_ connection: InboundConnection) -> Bool {
        inbound.withLock { inbound in
            guard !inbound.isClosed else { return false }
            inbound.connections[ObjectIdentifier(connection)] = connection
            return true
        }
    }

    private func inboundClosed(_ connection: InboundConnection) {
        _ = inbound.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}
