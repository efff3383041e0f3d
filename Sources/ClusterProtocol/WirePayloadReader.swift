import NIOCore

/// Reads one frame's payload field by field. Every read checks what is left first and throws a
/// `malformedPayload` naming the field, so no input can trap or read past the frame.
struct WirePayloadReader {
    private var buffer: ByteBuffer
    private let type: ClusterMessageType

    init(payload: ByteBuffer, type: ClusterMessageType) {
        self.buffer = payload
        self.type = type
    }

    mutating func uint8(_ field: String) throws(ClusterProtocolError) -> UInt8 {
        try integer(UInt8.self, field)
    }

    mutating func uint16(_ field: String) throws(ClusterProtocolError) -> UInt16 {
        try integer(UInt16.self, field)
    }

    mutating func uint64(_ field: String) throws(ClusterProtocolError) -> UInt64 {
        try integer(UInt64.self, field)
    }

    mutating func int64(_ field: String) throws(ClusterProtocolError) -> Int64 {
        try integer(Int64.self, field)
    }

    /// Exactly `count` raw bytes (magic, nonce, proof).
    mutating func bytes(_ count: Int, _ field: String) throws(ClusterProtocolError) -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else {
            throw malformed("\(field): needs \(count) bytes, \(buffer.readableBytes) left")
        }
        return bytes
    }

    /// A u32 big-endian byte count followed by that many bytes of valid UTF-8.
    mutating func string(_ field: String) throws(ClusterProtocolError) -> String {
        let length = try integer(UInt32.self, "\(field) length")
        guard Int(length) <= buffer.readableBytes, let bytes = buffer.readBytes(length: Int(length)) else {
            throw malformed("\(field): string length \(length) exceeds the \(buffer.readableBytes) bytes left")
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw malformed("\(field): not valid UTF-8")
        }
        return string
    }

    /// Trailing bytes mean sender and receiver disagree on the layout; accepting them would hide that.
    func finish() throws(ClusterProtocolError) {
        guard buffer.readableBytes == 0 else {
            throw malformed("\(buffer.readableBytes) bytes after the last field")
        }
    }

    func malformed(_ detail: String) -> ClusterProtocolError {
        ClusterProtocolError(code: .malformedPayload, messageType: type.rawValue, detail: detail)
    }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(ClusterProtocolError) -> T {
        guard let value = buffer.readInteger(endianness: .big, as: T.self) else {
            throw malformed("\(field): needs \(MemoryLayout<T>.size) bytes, \(buffer.readableBytes) left")
        }
        return value
    }
}

extension ByteBuffer {
    /// The wire form of a string: u32 big-endian byte count, then the UTF-8 bytes.
    @discardableResult
    mutating func writeWireString(_ string: String) -> Int {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        let count = writeString(string)
        setInteger(UInt32(truncatingIfNeeded: count), at: lengthIndex)
        return 4 + count
    }
}
