import ClusterProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SyncTransport

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let after: Duration
    var description: String { "timed out after \(after) waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` if it takes longer than `limit`. Every wait in these tests
/// goes through here, so a regression shows up as a failure, not a hung test run.
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(what: what, after: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// What the test handlers saw; the test polls it (bounded) for the event it expects.
final class Recorder<Event: Sendable>: Sendable {
    private let events = Mutex<[Event]>([])

    func record(_ event: Event) { events.withLock { $0.append(event) } }

    var all: [Event] { events.withLock { $0 } }

    /// Waits until an event satisfies `condition`, failing after `limit`.
    @discardableResult
    func waitFor(_ what: String, within limit: Duration = .seconds(5), where condition: @escaping @Sendable (Event) -> Bool) async throws -> Event {
        try await eventually(what, within: limit) { self.all.first(where: condition) }
    }
}

/// Polls `probe` every 10 ms until it yields a value, failing after `limit`.
func eventually<T: Sendable>(_ what: String, within limit: Duration = .seconds(5), _ probe: @escaping @Sendable () -> T?) async throws -> T {
    try await withTimeout(limit, what) {
        while true {
            if let value = probe() { return value }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A handler whose behaviour each test supplies.
struct ClosureHandler: EntitySyncHandler {
    let body: @Sendable (EntitySyncRequest, String, EntitySyncReporter) async -> Void

    func handle(_ request: EntitySyncRequest, from peerNodeID: String, reporter: EntitySyncReporter) async {
        await body(request, peerNodeID, reporter)
    }
}

/// A `LogHandler` that keeps every entry, so a test can check that something was logged.
struct CapturingLogHandler: LogHandler {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    final class Store: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
    }

    let store: Store
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(Entry(level: event.level, message: event.message.description,
                           metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
    }
}

enum Loopback {
    static let secret = Array("loopback-test-secret-0123456789".utf8)
    static let cluster = "test-cluster"

    static func configuration(node: String, secret: [UInt8] = Loopback.secret, port: Int = 0,
                              _ tweak: (inout ClusterTransportConfiguration) -> Void = { _ in }) -> ClusterTransportConfiguration {
        var configuration = ClusterTransportConfiguration(clusterID: cluster, nodeID: node, secret: secret, host: "127.0.0.1", port: port)
        // Short enough for the tests to finish quickly, long enough for a loaded 2-core debug build.
        configuration.pingInterval = .milliseconds(200)
        configuration.peerTimeout = .seconds(3)
        configuration.handshakeTimeout = .seconds(2)
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maximumReconnectDelay = .milliseconds(100)
        tweak(&configuration)
        return configuration
    }

    static func transport(_ configuration: ClusterTransportConfiguration, logs: CapturingLogHandler.Store = .init(),
                          handler: @escaping @Sendable (EntitySyncRequest, String, EntitySyncReporter) async -> Void = { _, _, reporter in
                              reporter.finish(.refused(.unavailable, detail: "no handler in this test"))
                          }) -> ClusterTransport {
        let logger = Logger(label: "test.\(configuration.nodeID)") { _ in CapturingLogHandler(store: logs) }
        return ClusterTransport(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton,
                                handler: ClosureHandler(body: handler), logger: logger)
    }

    static func peer(_ node: String, port: Int) -> ClusterPeer {
        ClusterPeer(nodeID: node, host: "127.0.0.1", port: port)
    }

    static func request(_ entity: String = "Person") -> EntitySyncRequest {
        EntitySyncRequest(correlationID: 0, idempotencyKey: "run-1/\(entity)", runID: "run-1", orgID: "org-1", entity: entity, leaderTerm: 1)
    }
}

/// A plain TCP client speaking raw bytes, for peers that misbehave on purpose.
struct RawClient {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int) async throws -> RawClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawClient(channel: channel)
    }

    /// Writes `bytes`, then reads until the server closes the connection; returns all it sent.
    /// Bounded by `limit`: a server that never closes fails the test.
    func exchange(_ bytes: ByteBuffer, limit: Duration = .seconds(5)) async throws -> ByteBuffer {
        let channel = self.channel
        return try await withTimeout(limit, "the server to close the connection") {
            try await channel.executeThenClose { inbound, outbound in
                if bytes.readableBytes > 0 { try await outbound.write(bytes) }
                var received = ByteBuffer()
                do {
                    for try await chunk in inbound {
                        var chunk = chunk
                        received.writeBuffer(&chunk)
                    }
                } catch {
                    // A reset after the reject is as good as a close.
                }
                return received
            }
        }
    }
}

/// Decodes every frame in `bytes` (which must be whole frames).
func decodeAll(_ bytes: ByteBuffer) throws -> [ClusterMessage] {
    var decoder = ClusterFrameDecoder()
    decoder.feed(bytes)
    var messages: [ClusterMessage] = []
    while let message = try decoder.next() { messages.append(message) }
    try decoder.finish()
    return messages
}

func frame(_ message: ClusterMessage) throws -> ByteBuffer {
    try ClusterFrameEncoder().encode(message)
}
