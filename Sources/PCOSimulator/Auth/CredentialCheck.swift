import Foundation

/// Who an API request acts as: the org, and how it authenticated.
struct AuthenticatedCaller: Sendable, Hashable {
    var orgID: String
    /// `pat:<app_id>` or `oauth:<token prefix>`, for the request log.
    var credentialLabel: String
    /// The rate-limit bucket: PCO limits per user, so an OAuth client's successive tokens share one.
    var rateLimitKey: String
    /// `HTTPBasic` or `OAuth` (`X-PCO-API-Auth-Method`).
    var method: String
}

/// Reads the `Authorization` header: HTTP Basic with a Personal Access Token, or a Bearer OAuth token.
enum CredentialCheck {
    static func authenticate(
        authorization: String?,
        personalAccessTokens: [String: (secret: String, orgID: String)],
        oauth: OAuthServer,
        now: Double
    ) -> Result<AuthenticatedCaller, PCOAPIError> {
        guard let header = authorization?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            return .failure(.unauthorized(hint: nil, detail: "Authentication required: use a Personal Access Token (HTTP Basic) or an OAuth access token (Bearer)"))
        }
        if header.lowercased().hasPrefix("basic ") {
            guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                return .failure(.unauthorized(hint: nil, detail: "Malformed HTTP Basic credentials"))
            }
            let appID = String(text[..<colon]), secret = String(text[text.index(after: colon)...])
            guard let pat = personalAccessTokens[appID], pat.secret == secret else {
                return .failure(.unauthorized(hint: nil, detail: "Invalid Personal Access Token application id or secret"))
            }
            return .success(AuthenticatedCaller(orgID: pat.orgID, credentialLabel: "pat:\(appID)", rateLimitKey: "pat:\(appID)", method: "HTTPBasic"))
        }
        if header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            switch oauth.authenticate(bearer: token, now: now) {
            case .success(let orgID):
                return .success(AuthenticatedCaller(orgID: orgID, credentialLabel: "oauth:\(token.prefix(8))", rateLimitKey: "oauth:\(orgID)", method: "OAuth"))
            case .failure(let error):
                return .failure(error)
            }
        }
        return .failure(.unauthorized(hint: nil, detail: "Unsupported Authorization scheme"))
    }
}
