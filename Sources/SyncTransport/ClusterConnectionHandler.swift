import ClusterProtocol
import NIOCore

/// What a connection's owner hears from its channel. Called on the channel's event loop.
protocol ClusterConnectionEvents: AnyObject, Sendable {
    func messageReceived(_ message: ClusterMessage)
    func errorCaught(_ error: any Error)
    func channelInactive()
}

/// The last handler of a cluster connection's pipeline: hands decoded messages and lifecycle events
/// to the connection object, which holds the state machine. Keeping the logic out of the handler
/// lets callers on any thread reach the same state under its lock.
final class ClusterConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ClusterMessage

    private let events: any ClusterConnectionEvents

    init(events: any ClusterConnectionEvents) {
        self.events = events
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        events.messageReceived(Self.unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        events.errorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        events.channelInactive()
        context.fireChannelInactive()
    }
}
