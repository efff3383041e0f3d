import ClusterProtocol
import NIOCore

/// `ClusterFrameDecoder`'s frame logic as a NIO `ByteToMessageDecoder`, so frames are cut out of
/// the channel's own buffer. Wrap it in `ByteToMessageHandler`.
public struct ClusterFrameDecoderHandler: ByteToMessageDecoder {
    public typealias InboundOut = ClusterMessage

    public let maximumFrameSize: Int

    public init(maximumFrameSize: Int = ClusterFrame.defaultMaximumSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try ClusterFrameDecoder.decodeFrame(from: &buffer, maximumFrameSize: maximumFrameSize) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw ClusterFrameDecoder.truncated(buffer)
        }
        return .needMoreData
    }
}
