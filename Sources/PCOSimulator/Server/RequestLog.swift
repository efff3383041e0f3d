/// One API request as the simulator saw it, for test assertions (`GET /__sim/requests`).
public struct RequestLogEntry: Sendable, Hashable, Codable {
    public var seq: Int
    /// ISO-8601 UTC.
    public var time: String
    public var method: String
    /// Path with query string, as received.
    public var path: String
    public var org: String?
    /// `pat:<app_id>`, `oauth:<first 8 characters of the token>`, or nil when none was valid.
    public var credential: String?
    public var status: Int
    /// `X-PCO-API-Request-Rate-Count` as answered (0 when the request was not rate limited).
    public var rateCount: Int

    enum CodingKeys: String, CodingKey {
        case seq, time, method, path, org, credential, status, rateCount = "rate_count"
    }
}

/// The bounded request log; the oldest entries go first when it is full.
struct RequestLog: Sendable {
    private(set) var entries: [RequestLogEntry] = []
    private var nextSeq = 1
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    mutating func append(_ make: (Int) -> RequestLogEntry) {
        entries.append(make(nextSeq))
        nextSeq += 1
        // Trim in chunks so a full log does not shift the whole array on every request.
        if entries.count > capacity + capacity / 4 { entries.removeFirst(entries.count - capacity) }
    }

    /// Entries with `seq` greater than `since`.
    func entries(since: Int) -> [RequestLogEntry] {
        guard let first = entries.first, since >= first.seq else { return entries }
        return Array(entries[min(entries.count, since - first.seq + 1)...])
    }

    mutating func clear() {
        entries.removeAll()
    }
}
