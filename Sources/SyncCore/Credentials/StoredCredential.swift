/// How the engine authenticates to a source on behalf of one organization.
public enum StoredCredential: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A personal access token (PCO: HTTP Basic with the application id and secret).
    case personalAccessToken(appID: String, secret: String)
    /// OAuth tokens obtained through the authorization-code flow.
    case oauth(OAuthTokens)

    /// `pat` or `oauth`, as stored in `adapter_tokens.kind`.
    public var kind: String {
        switch self {
        case .personalAccessToken: "pat"
        case .oauth: "oauth"
        }
    }

    public var oauthTokens: OAuthTokens? {
        if case .oauth(let tokens) = self { return tokens }
        return nil
    }

    /// Never prints the secrets.
    public var description: String {
        switch self {
        case .personalAccessToken(let appID, _): "personalAccessToken(appID: \(appID))"
        case .oauth(let tokens): "oauth(\(tokens))"
        }
    }
}

/// A credential with the version it is stored under; every replacement increments the version.
public struct VersionedCredential: Sendable, Hashable {
    public var credential: StoredCredential
    public var version: Int64

    public init(credential: StoredCredential, version: Int64) {
        self.credential = credential
        self.version = version
    }
}
