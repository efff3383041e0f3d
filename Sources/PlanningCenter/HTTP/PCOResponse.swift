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

    public init(url: String, status: Int, headers: [String: String], body: Data, rateLimit: RateLimitHeaders?, attempts: Int) {
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
        self.rateLimit = rateLimit
        self.attempts = attempts
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}
