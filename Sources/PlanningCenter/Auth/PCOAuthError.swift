/// Getting a usable credential for an organization failed.
///
/// `refreshTokenRejected` (PCO `invalid_grant`) and `invalidClient` are permanent: the organization has to
/// authorize the app again; nothing is retried. `refreshUnavailable` is transient (PCO down, network).
public struct PCOAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No credential is stored for the organization.
        case noCredential
        /// The refresh token was refused (`invalid_grant`): already used, expired or revoked.
        case refreshTokenRejected
        /// The OAuth client id/secret were refused (`invalid_client`).
        case invalidClient
        /// An OAuth credential needs refreshing but no OAuth client is configured.
        case oauthClientMissing
        /// The token endpoint answered something unexpected or could not be reached.
        case refreshUnavailable
    }

    public var code: Code
    public var orgID: String
    /// The OAuth error (`invalid_grant`) or HTTP status PCO answered, when it answered.
    public var oauthError: String?
    public var detail: String

    public init(code: Code, orgID: String, oauthError: String? = nil, detail: String) {
        self.code = code
        self.orgID = orgID
        self.oauthError = oauthError
        self.detail = detail
    }

    public var isPermanent: Bool { code != .refreshUnavailable }

    public var description: String {
        let what: String = switch code {
        case .noCredential: "no PCO credential is stored; connect the organization first"
        case .refreshTokenRejected: "PCO refused the refresh token (single-use: it was already used, or it expired or was revoked); the organization must authorize the app again"
        case .invalidClient: "PCO refused the OAuth client id/secret; check the app's configuration"
        case .oauthClientMissing: "the stored OAuth tokens need refreshing but no OAuth client id/secret is configured"
        case .refreshUnavailable: "could not refresh the OAuth access token"
        }
        return "org \(orgID): \(what)" + (oauthError.map { " [\($0)]" } ?? "") + ": \(detail)"
    }
}
