import NIOCore

extension Duration {
    /// For NIO timers.
    var timeAmount: TimeAmount { TimeAmount(self) }

    /// For the handshake, whose timestamps are wall-clock milliseconds.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
