import SyncCore

/// How a ``PCOClient`` talks to one organization's PCO API.
public struct PCOClientConfiguration: Sendable {
    /// `https://api.planningcenteronline.com` in production, the simulator's `http://127.0.0.1:PORT` in tests.
    public var baseURL: String
    /// Our organization id (for errors and logs; PCO's tenant is implied by the credential).
    public var orgID: String
    /// Per attempt, connection to last body byte. Default 30 s.
    public var requestTimeout: Duration
    /// Retries of 5xx, network errors, timeouts and undecodable bodies. Default 5 retries, 250 ms doubling to 10 s.
    public var backoff: BackoffPolicy
    /// 429s tolerated for one request before giving up. Default 20.
    public var maxRateLimitRetries: Int
    /// Largest total `Retry-After` one request waits before giving up. Default 5 minutes.
    public var maxRateLimitWait: Duration
    /// Bodies larger than this are refused (a page of 100 with includes is well under 1 MiB). Default 32 MiB.
    public var maxBodyBytes: Int
    public var userAgent: String

    public init(
        baseURL: String,
        orgID: String,
        requestTimeout: Duration = .seconds(30),
        backoff: BackoffPolicy = BackoffPolicy(),
        maxRateLimitRetries: Int = 20,
        maxRateLimitWait: Duration = .seconds(300),
        maxBodyBytes: Int = 32 << 20,
        userAgent: String = "syncengine"
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.orgID = orgID
        self.requestTimeout = requestTimeout
        self.backoff = backoff
        self.maxRateLimitRetries = maxRateLimitRetries
        self.maxRateLimitWait = maxRateLimitWait
        self.maxBodyBytes = maxBodyBytes
        self.userAgent = userAgent
    }
}
