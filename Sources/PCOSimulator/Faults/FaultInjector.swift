/// What the fault dice decided for one API request.
struct FaultDecision: Sendable, Hashable {
    enum BodyCorruption: Sendable, Hashable {
        case none
        case malformed
        case truncated
    }

    /// Answer this 5xx status instead of the real response.
    var serverError: Int?
    /// Seconds to wait before answering.
    var delaySeconds: Double
    var corruption: BodyCorruption
}

/// Rolls the probabilistic faults. Pure apart from its seeded generator.
struct FaultInjector: Sendable {
    private var rng: SeededGenerator

    init(seed: UInt64) {
        rng = SeededGenerator(seed: seed, stream: 0xFA17)
    }

    mutating func roll(_ settings: FaultSettings) -> FaultDecision {
        var delay = settings.latencyMs
        if settings.latencyJitterMs > 0 { delay += rng.unit() * settings.latencyJitterMs }
        var serverError: Int?
        if rng.chance(settings.errorRate5xx) { serverError = rng.pick([500, 502, 503, 504]) }
        var corruption = FaultDecision.BodyCorruption.none
        if rng.chance(settings.malformedRate) {
            corruption = .malformed
        } else if rng.chance(settings.truncatedRate) {
            corruption = .truncated
        }
        return FaultDecision(serverError: serverError, delaySeconds: delay / 1000, corruption: corruption)
    }

    /// The body a client sees under a corruption fault.
    mutating func corrupt(_ body: [UInt8], _ corruption: FaultDecision.BodyCorruption) -> [UInt8] {
        switch corruption {
        case .none:
            return body
        case .truncated:
            guard body.count > 2 else { return [] }
            return Array(body[0 ..< rng.int(in: 1 ... body.count - 1)])
        case .malformed:
            // Valid-looking start, broken middle: what a proxy error page spliced into JSON looks like.
            let cut = body.count > 2 ? rng.int(in: 1 ... body.count - 1) : 0
            return Array(body[0 ..< cut]) + Array("<html><body>502 Bad Gateway</body></html>,}".utf8)
        }
    }

    static func serverErrorTitle(_ status: Int) -> String {
        switch status {
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Gateway Timeout"
        }
    }
}
