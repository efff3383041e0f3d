/// A frame or payload that breaks the protocol. Always the peer's (or the wire's) fault, never a
/// crash: the connection that produced it should be closed, since after most of these the frame
/// boundaries can no longer be trusted.
public struct ClusterProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The length field exceeds the maximum frame size (detected from the header alone).
        case oversizedFrame
        /// The length field is 0, so there is not even a type byte.
        case emptyFrame
        /// The type byte is not a `ClusterMessageType`.
        case unknownMessageType
        /// The payload does not decode as its type says (short, too long, bad UTF-8, unknown enum value).
        case malformedPayload
        /// The stream ended inside a frame.
        case truncatedFrame
        /// A message this node tried to send cannot be framed (too large, a field of the wrong size).
        case unencodableMessage
    }

    public var code: Code
    /// The frame's type byte, when the error is about one frame.
    public var messageType: UInt8?
    public var detail: String

    public init(code: Code, messageType: UInt8? = nil, detail: String) {
        self.code = code
        self.messageType = messageType
        self.detail = detail
    }

    public var description: String {
        let type = messageType.map { byte in
            ClusterMessageType(rawValue: byte).map { " in \($0) frame" } ?? " in frame of type \(byte)"
        } ?? ""
        return "cluster protocol error (\(code))\(type): \(detail)"
    }
}
