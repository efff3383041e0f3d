import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import SyncCore

/// Hands out the `Authorization` header of one organization and keeps its OAuth tokens fresh.
///
/// - Refreshes `refreshSkew` before the access token expires, and once more when PCO answers 401 to a
///   token we thought valid (PCO maintainer advice, developers#415).
/// - Single-flight: concurrent callers that need a refresh await the same refresh. Refresh tokens are
///   single-use, so two refreshes with one token would make the second fail with `invalid_grant`.
/// - The rotated pair is stored with a compare-and-swap on the stored version, before it is used; a
///   process that loses the race (or gets `invalid_grant` because another process rotated first)
///   reloads the stored pair instead of failing.
/// - `invalid_grant` / `invalid_client` are final: the error is remembered, so later requests fail at
///   once without calling PCO again, until a new credential is stored.
/// - A refresh is never retried blindly: if PCO consumed the refresh token but the answer was lost,
///   a retry could only fail with `invalid_grant`.
public actor PCOCredentialProvider {
    public struct Configuration: Sendable {
        /// Where `POST /oauth/token` lives: the API base URL.
        public var baseURL: String
        public var orgID: String
        /// The OAuth application; nil when the organization uses a personal access token.
        public var oauthClient: OAuthClientCredentials?
        /// How long before expiry the access token is renewed. Default 60 s.
        public var refreshSkew: Duration
        /// Timeout of the token request. Default 30 s.
        public var requestTimeout: Duration

        public init(baseURL: String, orgID: String, oauthClient: OAuthClientCredentials? = nil,
                    refreshSkew: Duration = .seconds(60), requestTimeout: Duration = .seconds(30)) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.orgID = orgID
            self.oauthClient = oauthClient
            self.refreshSkew = refreshSkew
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    private let store: any CredentialStore
    private let httpClient: HTTPClient
    private let wallClock: @Sendable () -> Int64
    private let logger: Logger
    private var current: VersionedCredential?
    private var refreshInFlight: (fromVersion: Int64, task: Task<VersionedCredential, any Error>)?
    private var finalError: (error: PCOAuthError, version: Int64)?
    /// Refreshes that reached PCO's token endpoint (for tests and progress reports).
    public private(set) var refreshCount = 0

    /// - Parameter wallClock: Unix seconds now; injected so expiry can be tested without waiting.
    public init(
        configuration: Configuration,
        store: any CredentialStore,
        httpClient: HTTPClient,
        wallClock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.httpClient = httpClient
        self.wallClock = wallClock
        var logger = logger
        logger[metadataKey: "sync.org"] = "\(configuration.orgID)"
        self.logger = logger
    }

    /// The header for the next request, refreshing first if the access token is about to expire.
    public func authorization() async throws -> PCOAuthorization {
        let stored = try await credential()
        switch stored.credential {
        case .personalAccessToken(let appID, let secret):
            return .basic(appID: appID, secret: secret)
        case .oauth(let tokens):
            if tokens.needsRefresh(now: wallClock(), skewSeconds: configuration.refreshSkew.components.seconds) {
                let refreshed = try await refresh(from: stored)
                return .bearer(refreshed.credential.oauthTokens?.accessToken ?? tokens.accessToken)
            }
            return .bearer(tokens.accessToken)
        }
    }

    /// PCO answered 401 to `rejected`. Refreshes once (joining a refresh already under way, or none when
    /// the token was replaced meanwhile) and says whether retrying the request makes sense.
    public func accessTokenRejected(_ rejected: PCOAuthorization) async throws -> Bool {
        guard let rejectedToken = rejected.accessToken else { return false }
        let stored = try await credential()
        guard case .oauth(let tokens) = stored.credential else { return false }
        if tokens.accessToken != rejectedToken { return true }
        _ = try await refresh(from: stored)
        return true
    }

    /// Forgets the cached credential, so the next call reads the store again.
    public func invalidate() {
        current = nil
    }

    // MARK: Internals

    private func credential() async throws -> VersionedCredential {
        if let finalError {
            // Failed for good at this version; only a newly stored credential can change that.
            let reloaded = try await load()
            if reloaded.version == finalError.version { throw finalError.error }
            self.finalError = nil
            return reloaded
        }
        if let current { return current }
        return try await load()
    }

    private func load() async throws -> VersionedCredential {
        guard let loaded = try await store.loadCredential(orgID: configuration.orgID) else {
            throw PCOAuthError(code: .noCredential, orgID: configuration.orgID, detail: "the credential store has nothing for this organization")
        }
        if let current, current.version > loaded.version { return current }
        current = loaded
        return loaded
    }

    private func refresh(from stored: VersionedCredential) async throws -> VersionedCredential {
        if let inFlight = refreshInFlight, inFlight.fromVersion >= stored.version {
            return try await inFlight.task.value
        }
        if let current, current.version > stored.version { return current }
        let task = Task { try await self.performRefresh(from: stored) }
        refreshInFlight = (stored.version, task)
        do {
            let refreshed = try await task.value
            if refreshInFlight?.fromVersion == stored.version { refreshInFlight = nil }
            if (current?.version ?? 0) <= refreshed.version { current = refreshed }
            return refreshed
        } catch let error as PCOAuthError {
            if refreshInFlight?.fromVersion == stored.version { refreshInFlight = nil }
            if error.isPermanent { finalError = (error, stored.version) }
            throw error
        } catch {
            if refreshInFlight?.fromVersion == stored.version { refreshInFlight = nil }
            throw error
        }
    }

    private func performRefresh(from stored: VersionedCredential) async throws -> VersionedCredential {
        let orgID = configuration.orgID
        guard case .oauth(let tokens) = stored.credential else { return stored }
        guard let client = configuration.oauthClient else {
            throw PCOAuthError(code: .oauthClientMissing, orgID: orgID, detail: "access token expires at \(tokens.accessExpiresAt)")
        }
        // Another process may have rotated the pair already: use theirs rather than spend a refresh token.
        if let latest = try await store.loadCredential(orgID: orgID), latest.version > stored.version,
           let latestTokens = latest.credential.oauthTokens,
           !latestTokens.needsRefresh(now: wallClock(), skewSeconds: configuration.refreshSkew.components.seconds) {
            return latest
        }

        refreshCount += 1
        logger.info("refreshing PCO access token", metadata: ["sync.token_version": "\(stored.version)"])
        let answer = try await postTokenRequest(refreshToken: tokens.refreshToken, client: client)
        switch answer {
        case .tokens(let fresh):
            let credential = StoredCredential.oauth(fresh)
            if let version = try await store.replaceCredential(credential, orgID: orgID, expectedVersion: stored.version) {
                return VersionedCredential(credential: credential, version: version)
            }
            // Someone stored another credential meanwhile (a re-authorization); theirs wins.
            logger.warning("stored PCO credential changed during refresh; using the stored one")
            return try await load()
        case .refused(let status, let oauthError, let detail):
            if oauthError == "invalid_grant",
               let latest = try await store.loadCredential(orgID: orgID), latest.version > stored.version {
                // Another process rotated first with the same refresh token.
                return latest
            }
            let code: PCOAuthError.Code = switch oauthError {
            case "invalid_grant": .refreshTokenRejected
            case "invalid_client": .invalidClient
            default: .refreshUnavailable
            }
            throw PCOAuthError(code: code, orgID: orgID, oauthError: oauthError ?? "HTTP \(status)", detail: detail)
        }
    }

    private enum TokenAnswer {
        case tokens(OAuthTokens)
        case refused(status: Int, oauthError: String?, detail: String)
    }

    private struct TokenResponseBody: Decodable {
        var access_token: String
        var refresh_token: String
        var expires_in: Int64?
        var scope: String?
    }

    private func postTokenRequest(refreshToken: String, client: OAuthClientCredentials) async throws -> TokenAnswer {
        let orgID = configuration.orgID
        let url = configuration.baseURL + "/oauth/token"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = PCOQueryItem.encode([
            PCOQueryItem("grant_type", "refresh_token"),
            PCOQueryItem("client_id", client.clientID),
            PCOQueryItem("client_secret", client.clientSecret),
            PCOQueryItem("refresh_token", refreshToken),
        ])
        request.body = .bytes(ByteBuffer(string: form))
        let status: Int
        let body: Data
        do {
            let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.totalNanosecondsForNIO)
            let response = try await httpClient.execute(request, timeout: timeout)
            status = Int(response.status.code)
            body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw PCOAuthError(code: .refreshUnavailable, orgID: orgID, detail: "POST \(url) failed: \(error)")
        }
        if (200..<300).contains(status) {
            guard let decoded = try? JSONDecoder().decode(TokenResponseBody.self, from: body) else {
                throw PCOAuthError(code: .refreshUnavailable, orgID: orgID, oauthError: "HTTP \(status)",
                                   detail: "POST \(url) answered a body without access_token/refresh_token")
            }
            let expiresAt = wallClock() + (decoded.expires_in ?? 7200)
            return .tokens(OAuthTokens(accessToken: decoded.access_token, refreshToken: decoded.refresh_token,
                                       accessExpiresAt: expiresAt, scope: decoded.scope))
        }
        let document = PCOErrorDocument.decode(body)
        return .refused(
            status: status, oauthError: document?.primaryCode,
            detail: document?.primaryDetail ?? String(decoding: body.prefix(300), as: UTF8.self)
        )
    }
}

extension Duration {
    /// Whole nanoseconds, saturating, for NIO's `TimeAmount`.
    var totalNanosecondsForNIO: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}
