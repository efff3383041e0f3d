#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ClusterProtocol
import NIOCore
import NIOPosix
import Synchronization

/// A raw NIO server that completes the handshake (with ClusterProtocol, like a real node) and then
/// never writes again: what a SIGSTOPped node looks like from outside. Its TCP connection stays
/// open and the kernel keeps accepting bytes, but no pong ever comes back.
final class SilentPeerServer: Sendable {
    let port: Int
    private let received: Recorder<ClusterMessage>
    private let task: Task<Void, Never>
    private let listener: any Channel

    /// Messages received after the handshake (pings, requests).
    var messages: [ClusterMessage] { received.all }

    private init(port: Int, received: Recorder<ClusterMessage>, task: Task<Void, Never>, listener: any Channel) {
        self.port = port
        self.received = received
        self.task = task
        self.listener = listener
    }

    /// With `answersHello: false` it does not even complete the handshake (a process stopped
    /// before it could answer).
    static func start(handshake: ClusterHandshake, answersHello: Bool = true) async throws -> SilentPeerServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let received = Recorder<ClusterMessage>()
        let task = Task<Void, Never> {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection, handshake: handshake, answersHello: answersHello, received: received) }
                    }
                }
            }
        }
        return SilentPeerServer(port: server.channel.localAddress!.port!, received: received, task: task, listener: server.channel)
    }

    /// Stops listening and drops every connection.
    func stop() async {
        task.cancel()
        try? await listener.close()
        await task.value
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, handshake: ClusterHandshake, answersHello: Bool,
                              received: Recorder<ClusterMessage>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var decoder = ClusterFrameDecoder()
            var handshaken = false
            for try await bytes in inbound {
                decoder.feed(bytes)
                while let message = try decoder.next() {
                    if handshaken || !answersHello {
                        received.record(message)
                        continue
                    }
                    var replayGuard = HelloReplayGuard()
                    guard case .accept(_, let reply) = handshake.evaluate(message, nowMilliseconds: wallClockMilliseconds(),
                                                                          replayGuard: &replayGuard) else {
                        return
                    }
                    try await outbound.write(ClusterFrameEncoder().encode(.helloAccept(reply)))
                    handshaken = true
                }
            }
        }
    }
}

/// Wall-clock milliseconds, for hellos built by the tests' raw peers.
func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
