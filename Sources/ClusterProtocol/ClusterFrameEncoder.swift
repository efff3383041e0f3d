import NIOCore

/// Turns messages into frames. Refuses to produce a frame larger than the maximum, since the peer
/// would drop the connection on it: better an error at the sender, with the message in hand.
public struct ClusterFrameEncoder: Sendable {
    /// Largest length field (type byte + payload) this encoder writes.
    public var maximumFrameSize: Int

    public init(maximumFrameSize: Int = ClusterFrame.defaultMaximumSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    /// Appends one frame to `buffer`. On error `buffer` is left as it was.
    public func encode(_ message: ClusterMessage, into buffer: inout ByteBuffer) throws(ClusterProtocolError) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(message.type.rawValue)
        do {
            try message.writePayload(into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let length = buffer.writerIndex - start - ClusterFrame.lengthFieldSize
        guard length <= maximumFrameSize, length <= Int(UInt32.max) else {
            buffer.moveWriterIndex(to: start)
            throw ClusterProtocolError(code: .unencodableMessage, messageType: message.type.rawValue,
                                       detail: "frame of \(length) bytes exceeds the maximum of \(maximumFrameSize)")
        }
        buffer.setInteger(UInt32(length), at: start)
    }

    /// One frame in a buffer of its own.
    public func encode(_ message: ClusterMessage, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(ClusterProtocolError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try encode(message, into: &buffer)
        return buffer
    }
}
