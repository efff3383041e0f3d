/// The frame that carries every message between nodes:
///
///     u32 big-endian length | u8 message type | payload
///
/// The length counts the type byte and the payload (never the length field itself), so a valid
/// length is at least 1. A receiver rejects a length above its maximum from the header alone,
/// before buffering the body, so a peer cannot make it allocate more than that.
public enum ClusterFrame {
    /// Bytes of the length field.
    public static let lengthFieldSize = 4
    /// The largest length (type byte + payload) accepted unless configured otherwise: 4 MiB.
    public static let defaultMaximumSize = 4 << 20
}
