/// Remembers the nonces of hellos accepted within the timestamp window, so a captured hello cannot
/// be replayed to this node to open a second authenticated connection. Hellos outside the window
/// are already refused by their timestamp, so entries older than that are forgotten: memory is
/// bounded by the rate of legitimate handshakes times the window.
public struct HelloReplayGuard: Sendable {
    public let windowMilliseconds: Int64
    /// nonce → the moment (acceptor clock, ms) after which it can be forgotten.
    private var expiries: [[UInt8]: Int64] = [:]

    public init(windowMilliseconds: Int64 = ClusterHandshake.defaultTimestampWindowMilliseconds) {
        self.windowMilliseconds = windowMilliseconds
    }

    public var rememberedCount: Int { expiries.count }

    /// Records the nonce and returns true, or returns false when it was already seen within the window.
    public mutating func admit(nonce: [UInt8], timestampMilliseconds: Int64, nowMilliseconds: Int64) -> Bool {
        expiries = expiries.filter { $0.value >= nowMilliseconds }
        guard expiries[nonce] == nil else { return false }
        // Keep it until the hello's timestamp leaves the window, measured from whichever of the two
        // clocks is later, so a hello from a fast-clocked peer is not forgotten too early.
        let window = windowMilliseconds == .min ? Int64.max : abs(windowMilliseconds)
        let (expiry, overflow) = max(timestampMilliseconds, nowMilliseconds).addingReportingOverflow(window)
        expiries[nonce] = overflow ? Int64.max : expiry
        return true
    }
}
