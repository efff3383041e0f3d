/// An OAuth access token and the refresh token that renews it.
///
/// Refresh tokens are single-use (PCO rotates them on every refresh, pco-api.md §1.6), so the pair is
/// always stored and replaced together. Times are Unix epoch seconds: the core has no `Date`.
public struct OAuthTokens: Sendable, Hashable, Codable, CustomStringConvertible {
    public var accessToken: String
    public var refreshToken: String
    /// When the access token stops working, in seconds since 1970.
    public var accessExpiresAt: Int64
    public var scope: String?

    public init(accessToken: String, refreshToken: String, accessExpiresAt: Int64, scope: String? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.accessExpiresAt = accessExpiresAt
        self.scope = scope
    }

    /// Whether the access token should be renewed at `now` (epoch seconds), `skew` seconds ahead of expiry.
    public func needsRefresh(now: Int64, skewSeconds: Int64) -> Bool {
        now + skewSeconds >= accessExpiresAt
    }

    /// Never prints the secrets.
    public var description: String { "OAuthTokens(expiresAt: \(accessExpiresAt), scope: \(scope ?? "-"))" }
}
