/// A token pair as the token endpoint answers it (and `/__sim/orgs` shows it).
public struct OAuthTokenPair: Sendable, Hashable, Codable {
    public var accessToken: String
    public var refreshToken: String
    public var tokenType: String = "bearer"
    public var expiresIn: Int
    /// Seconds since 1970.
    public var createdAt: Int
    public var scope: String

    public var expiresAt: Int { createdAt + expiresIn }

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", refreshToken = "refresh_token", tokenType = "token_type"
        case expiresIn = "expires_in", createdAt = "created_at", scope
    }
}

/// An OAuth failure, answered as `{"error": code, "error_description": detail}`.
public struct OAuthError: Error, Sendable, Hashable {
    public var status: Int
    public var code: String
    public var detail: String

    static func invalidGrant(_ detail: String) -> OAuthError {
        OAuthError(status: 401, code: "invalid_grant", detail: "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. (\(detail))")
    }

    static let invalidClient = OAuthError(status: 401, code: "invalid_client", detail: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
}

/// PCO's OAuth 2 authorization server: codes, access tokens, single-use rotating refresh tokens.
///
/// Pure state: `now` (wall seconds) and the generator are passed in. Tokens of an org can be expired
/// or revoked wholesale (the `expire_tokens` / `revoke_tokens` faults).
struct OAuthServer: Sendable {
    struct Client: Sendable {
        var orgID: String
        var secret: String
    }

    struct AccessToken: Sendable {
        var orgID: String
        var clientID: String
        var expiresAt: Double
        var revoked: Bool
        var scope: String
    }

    struct RefreshToken: Sendable {
        var orgID: String
        var clientID: String
        /// Set once the token has been exchanged: PCO refresh tokens are single-use.
        var used: Bool
        var revoked: Bool
        var scope: String
    }

    struct Grant: Sendable {
        var orgID: String
        var clientID: String
        var redirectURI: String
        var scope: String
        var expiresAt: Double
    }

    private(set) var clients: [String: Client] = [:]
    private var codes: [String: Grant] = [:]
    private var accessTokens: [String: AccessToken] = [:]
    private var refreshTokens: [String: RefreshToken] = [:]
    /// The most recent pair per org, for `/__sim/orgs`.
    private(set) var latestPair: [String: OAuthTokenPair] = [:]
    private var rng: SeededGenerator

    init(seed: UInt64) {
        rng = SeededGenerator(seed: seed, stream: 0x0A07)
    }

    mutating func register(clientID: String, secret: String, orgID: String) {
        clients[clientID] = Client(orgID: orgID, secret: secret)
    }

    /// `GET /oauth/authorize`: PCO asks the user to approve; the simulator approves at once.
    mutating func authorize(clientID: String, redirectURI: String, scope: String, orgID: String?, now: Double) throws(OAuthError) -> String {
        guard let client = clients[clientID] else { throw .invalidClient }
        let code = rng.hexToken(bytes: 20)
        codes[code] = Grant(orgID: orgID ?? client.orgID, clientID: clientID, redirectURI: redirectURI, scope: scope, expiresAt: now + 600)
        return code
    }

    mutating func exchange(code: String, clientID: String, clientSecret: String, redirectURI: String?, now: Double, lifetime: Int) throws(OAuthError) -> OAuthTokenPair {
        try authenticateClient(clientID, clientSecret)
        guard let grant = codes.removeValue(forKey: code) else { throw .invalidGrant("unknown or used code") }
        guard grant.clientID == clientID, grant.expiresAt > now else { throw .invalidGrant("code expired or issued to another client") }
        if let redirectURI, redirectURI != grant.redirectURI { throw .invalidGrant("redirect_uri mismatch") }
        return issue(orgID: grant.orgID, clientID: clientID, scope: grant.scope, now: now, lifetime: lifetime)
    }

    /// The refresh grant: the old refresh token is spent, a new pair is issued.
    mutating func refresh(refreshToken: String, clientID: String, clientSecret: String, now: Double, lifetime: Int) throws(OAuthError) -> OAuthTokenPair {
        try authenticateClient(clientID, clientSecret)
        guard var token = refreshTokens[refreshToken], token.clientID == clientID else { throw .invalidGrant("unknown refresh token") }
        guard !token.revoked else { throw .invalidGrant("refresh token revoked") }
        guard !token.used else { throw .invalidGrant("refresh token already used") }
        token.used = true
        refreshTokens[refreshToken] = token
        return issue(orgID: token.orgID, clientID: clientID, scope: token.scope, now: now, lifetime: lifetime)
    }

    /// Issues a pair directly (the initial pair of every org, for tests' convenience).
    mutating func issue(orgID: String, clientID: String, scope: String, now: Double, lifetime: Int) -> OAuthTokenPair {
        let access = rng.hexToken(bytes: 32)
        let refresh = rng.hexToken(bytes: 32)
        accessTokens[access] = AccessToken(orgID: orgID, clientID: clientID, expiresAt: now + Double(lifetime), revoked: false, scope: scope)
        refreshTokens[refresh] = RefreshToken(orgID: orgID, clientID: clientID, used: false, revoked: false, scope: scope)
        let pair = OAuthTokenPair(accessToken: access, refreshToken: refresh, expiresIn: lifetime, createdAt: Int(now), scope: scope)
        latestPair[orgID] = pair
        return pair
    }

    /// `POST /oauth/revoke`: revokes an access or refresh token (RFC 7009 answers 200 either way).
    mutating func revoke(token: String) {
        if accessTokens[token] != nil { accessTokens[token]!.revoked = true }
        if refreshTokens[token] != nil { refreshTokens[token]!.revoked = true }
    }

    mutating func expireAll(orgID: String, now: Double) {
        for (key, token) in accessTokens where token.orgID == orgID {
            accessTokens[key]!.expiresAt = min(token.expiresAt, now - 1)
        }
    }

    mutating func revokeAll(orgID: String) {
        for (key, token) in accessTokens where token.orgID == orgID { accessTokens[key]!.revoked = true }
        for (key, token) in refreshTokens where token.orgID == orgID { refreshTokens[key]!.revoked = true }
    }

    /// The org a bearer token acts for, or PCO's 401 with its hint.
    func authenticate(bearer: String, now: Double) -> Result<String, PCOAPIError> {
        guard let token = accessTokens[bearer] else {
            return .failure(.unauthorized(hint: nil, detail: "The access token is invalid"))
        }
        if token.revoked {
            return .failure(.unauthorized(hint: "CAPUCHIN", detail: "The provided OAuth access token has been revoked (CAPUCHIN)"))
        }
        if token.expiresAt <= now {
            return .failure(.unauthorized(hint: "BABOON", detail: "The provided OAuth access token is expired (BABOON)"))
        }
        return .success(token.orgID)
    }

    private func authenticateClient(_ clientID: String, _ secret: String) throws(OAuthError) {
        guard let client = clients[clientID], client.secret == secret else { throw .invalidClient }
    }
}
