import NIOCore

/// Turns a byte stream into messages, without I/O: feed it bytes as they arrive, take messages out
/// with `next()`, and call `finish()` at end of stream.
///
/// After an error the stream should be abandoned. An unknown type or a malformed payload consumes
/// its frame (its length was valid), an oversized or empty length consumes nothing and repeats.
public struct ClusterFrameDecoder: Sendable {
    public let maximumFrameSize: Int
    private var buffer = ByteBuffer()

    public init(maximumFrameSize: Int = ClusterFrame.defaultMaximumSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    /// Bytes received but not yet decoded.
    public var bufferedByteCount: Int { buffer.readableBytes }

    public mutating func feed(_ bytes: ByteBuffer) {
        // Reclaim the space of decoded frames before growing, so a long-lived decoder stays the
        // size of one frame rather than of the whole stream.
        if buffer.readerIndex > 0, buffer.readerIndex >= buffer.readableBytes {
            buffer.discardReadBytes()
        }
        buffer.writeImmutableBuffer(bytes)
    }

    /// The next complete message, or nil when the buffered bytes do not yet hold a whole frame.
    public mutating func next() throws(ClusterProtocolError) -> ClusterMessage? {
        try Self.decodeFrame(from: &buffer, maximumFrameSize: maximumFrameSize)
    }

    /// Call at end of stream: leftover bytes are a frame the peer never finished.
    public func finish() throws(ClusterProtocolError) {
        guard buffer.readableBytes == 0 else {
            throw Self.truncated(buffer)
        }
    }

    /// Decodes one frame from the front of `buffer`, consuming it; nil (consuming nothing) when the
    /// frame is not complete yet. Shared with the NIO channel handler so both read the same way.
    public static func decodeFrame(from buffer: inout ByteBuffer, maximumFrameSize: Int) throws(ClusterProtocolError) -> ClusterMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        // Checked before waiting for the body, so an absurd length never makes us buffer it.
        guard length > 0 else {
            throw ClusterProtocolError(code: .emptyFrame, detail: "frame length 0 leaves no room for the type byte")
        }
        guard UInt64(length) <= UInt64(max(maximumFrameSize, 0)) else {
            throw ClusterProtocolError(code: .oversizedFrame,
                                       detail: "frame length \(length) exceeds the maximum of \(maximumFrameSize)")
        }
        guard buffer.readableBytes >= ClusterFrame.lengthFieldSize + Int(length) else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: ClusterFrame.lengthFieldSize)
        guard var frame = buffer.readSlice(length: Int(length)), let typeByte = frame.readInteger(as: UInt8.self) else {
            preconditionFailure("frame of \(length) bytes was checked to be buffered: \(buffer)")
        }
        guard let type = ClusterMessageType(rawValue: typeByte) else {
            throw ClusterProtocolError(code: .unknownMessageType, messageType: typeByte,
                                       detail: "unknown message type \(typeByte) (frame of \(length) bytes)")
        }
        return try ClusterMessage.decode(type: type, payload: frame)
    }

    /// The error for bytes left over at end of stream.
    public static func truncated(_ leftover: ByteBuffer) -> ClusterProtocolError {
        let declared = leftover.getInteger(at: leftover.readerIndex, endianness: .big, as: UInt32.self)
        let needed = declared.map { "\(Int($0) + ClusterFrame.lengthFieldSize) bytes for the frame" }
            ?? "\(ClusterFrame.lengthFieldSize) bytes for the length field"
        return ClusterProtocolError(code: .truncatedFrame,
                                    detail: "stream ended with \(leftover.readableBytes) bytes buffered, needed \(needed)")
    }
}
