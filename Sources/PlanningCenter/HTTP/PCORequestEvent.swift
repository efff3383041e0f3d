/// One attempt of a request, reported to the client's observer when it ends (for tracing, progress and
/// the tests that check every `Retry-After` was honoured).
public struct PCORequestEvent: Sendable, Hashable {
    public var url: String
    /// 1 for the first attempt of a request.
    public var attempt: Int
    /// The HTTP status, nil when no response came.
    public var status: Int?
    /// Instants on the client's ``RequestClock``.
    public var sentAt: Duration
    public var completedAt: Duration
    /// The parsed `Retry-After` of a 429.
    public var retryAfter: Duration?

    public init(url: String, attempt: Int, status: Int?, sentAt: Duration, completedAt: Duration, retryAfter: Duration?) {
        self.url = url
        self.attempt = attempt
        self.status = status
        self.sentAt = sentAt
        self.completedAt = completedAt
        self.retryAfter = retryAfter
    }
}
