/// The pause before the next connect attempt: doubling from `initial` up to `maximum`, each pause
/// drawn from its upper half so that nodes that lost the same peer do not all redial in step.
struct ReconnectBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var current: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.current = initial
    }

    mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let base = current
        current = min(current * 2, maximum)
        return base / 2 + (base / 2) * Double.random(in: 0...1, using: &generator)
    }
}
