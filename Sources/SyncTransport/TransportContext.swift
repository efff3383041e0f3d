import ClusterProtocol
import Logging
import NIOCore
import Synchronization

/// What every connection of one transport shares: configuration, handshake, codec, counters,
/// the inbound handler and the tasks running it.
final class TransportContext: Sendable {
    let configuration: ClusterTransportConfiguration
    let group: any EventLoopGroup
    let handshake: ClusterHandshake
    let encoder: ClusterFrameEncoder
    let handler: any EntitySyncHandler
    let logger: Logger
    let counters = TransportCounterStore()
    let handlerTasks = HandlerTaskTracker()
    /// Shared by all inbound connections: a hello replayed on a second connection must be caught.
    let replayGuard: Mutex<HelloReplayGuard>

    init(configuration: ClusterTransportConfiguration, group: any EventLoopGroup, handler: any EntitySyncHandler, logger: Logger) {
        self.configuration = configuration
        self.group = group
        let windowMilliseconds = configuration.handshakeTimestampWindow.wholeMilliseconds
        self.handshake = ClusterHandshake(clusterID: configuration.clusterID, nodeID: configuration.nodeID,
                                          secret: configuration.secret, timestampWindowMilliseconds: windowMilliseconds)
        self.encoder = ClusterFrameEncoder(maximumFrameSize: configuration.maximumFrameSize)
        self.handler = handler
        self.logger = logger
        self.replayGuard = Mutex(HelloReplayGuard(windowMilliseconds: windowMilliseconds))
    }

    /// The pipeline shared by both directions: frames in, messages to `events`. Outbound frames are
    /// encoded by the connection itself, where an unencodable message is still its caller's error.
    func configurePipeline(_ channel: any Channel, events: any ClusterConnectionEvents) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ByteToMessageHandler(ClusterFrameDecoderHandler(maximumFrameSize: configuration.maximumFrameSize)))
        try sync.addHandler(ClusterConnectionHandler(events: events))
    }

    /// Encodes and writes one frame; false when the message cannot be framed (logged and counted).
    @discardableResult
    func write(_ message: ClusterMessage, to channel: any Channel) -> Bool {
        do {
            let frame = try encoder.encode(message, allocator: channel.allocator)
            write(frame: frame, to: channel)
            return true
        } catch {
            counters.increment(\.frameErrors)
            logger.error("cannot frame an outgoing message", metadata: ["sync.error": "\(error)"])
            return false
        }
    }

    func write(frame: ByteBuffer, to channel: any Channel) {
        counters.increment(\.framesSent)
        channel.writeAndFlush(frame, promise: nil)
    }
}
