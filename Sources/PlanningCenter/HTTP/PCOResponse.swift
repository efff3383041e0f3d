import Foundation
import SyncCore

/// A successful (2xx) response, its body read in full.
public struct PCOResponse: Sendable {
    public var url: String
    public var status: Int
    /// Header values by lower-cased name (the last one wins when a header repeats).
    public var headers: [String: String]
    public var body: Data
    public var rateLimit: RateLimitHeaders?
    /// How many times the request was sent to get this response.
    public var attempts: Int
    /// How many of those the server answered 429. With `attempts`, the cost of this one call:
    /// unlike the client's running counters, not mixed with calls made concurrently.
    public var rateLimited: Int

    public init(url: String, status: Int, headers: [String: String], body: Data, rateLimit: RateLimitHeaders?, attempts: Int,
                rateLimited: Int = 0) {
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
        self.rateLimit = rateLimit
        self.attempts = attempts
        self.rateLimited = rateLimited
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}
