/// The rate-limit figures a PCO response carries: `X-PCO-API-Request-Rate-Limit`, `-Period` and `-Count`.
///
/// PCO sends the period as `20 seconds` today and sent it as `20` in 2019 (recorded traffic, pco-api.md §1.5),
/// so the period parser reads a leading number and an optional unit.
public struct RateLimitHeaders: Sendable, Hashable, CustomStringConvertible {
    public static let limitName = "X-PCO-API-Request-Rate-Limit"
    public static let periodName = "X-PCO-API-Request-Rate-Period"
    public static let countName = "X-PCO-API-Request-Rate-Count"
    public static let retryAfterName = "Retry-After"

    /// Requests allowed per period.
    public var limit: Int
    /// The window length.
    public var period: Duration
    /// Requests the server has counted in the current window, this one included (rejected ones count too).
    public var count: Int

    public init(limit: Int, period: Duration, count: Int) {
        self.limit = limit
        self.period = period
        self.count = count
    }

    /// Reads the three headers through `header` (a case-insensitive lookup by name); nil when any is
    /// missing or unreadable, so a response without them simply teaches the planner nothing.
    public init?(header: (String) -> String?) {
        guard let limit = header(Self.limitName).flatMap(Self.parseInteger), limit > 0,
              let period = header(Self.periodName).flatMap(Self.parsePeriod),
              let count = header(Self.countName).flatMap(Self.parseInteger), count >= 0
        else { return nil }
        self.init(limit: limit, period: period, count: count)
    }

    /// `20`, `20 seconds`, `1 minute`, `20s` → a duration; nil for anything else or a non-positive value.
    public static func parsePeriod(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int(digits), value > 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace().lowercased()
        switch unit {
        case "", "s", "sec", "secs", "second", "seconds": return .seconds(value)
        case "m", "min", "mins", "minute", "minutes": return .seconds(value * 60)
        case "h", "hour", "hours": return .seconds(value * 3600)
        default: return nil
        }
    }

    /// `Retry-After` in its delay-seconds form (`19`, also tolerating `1.5`); nil for an HTTP-date or garbage,
    /// in which case callers fall back to the window estimate.
    public static func parseRetryAfter(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        if let whole = Int(trimmed), whole >= 0 { return .seconds(whole) }
        if let fractional = Double(trimmed), fractional >= 0, fractional.isFinite {
            return .milliseconds(Int64((fractional * 1000).rounded(.up)))
        }
        return nil
    }

    static func parseInteger(_ text: String) -> Int? {
        Int(text.trimmingWhitespace())
    }

    public var description: String { "\(count)/\(limit) per \(period)" }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
