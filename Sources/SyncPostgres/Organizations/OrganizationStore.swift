import Foundation
import Logging
import PostgresNIO
import SyncCore

/// A tenant the engine syncs.
public struct Organization: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var adapter: String
    public var apiBaseURL: String

    public init(id: String, name: String, adapter: String, apiBaseURL: String) {
        self.id = id
        self.name = name
        self.adapter = adapter
        self.apiBaseURL = apiBaseURL
    }
}

/// An OAuth application's id and secret (the secret sealed at rest).
public struct OAuthApplication: Sendable, Hashable, CustomStringConvertible {
    public var clientID: String
    public var clientSecret: String

    public init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    public var description: String { "OAuthApplication(clientID: \(clientID))" }
}

/// Registered organizations, their credentials and OAuth applications.
public struct OrganizationStore: Sendable {
    public let client: PostgresClient
    public let cipher: TokenCipher
    public var logger: Logger

    public init(client: PostgresClient, cipher: TokenCipher, logger: Logger) {
        self.client = client
        self.cipher = cipher
        self.logger = logger
    }

    public var credentials: PostgresTokenStore { PostgresTokenStore(client: client, cipher: cipher, logger: logger) }

    /// Adds or updates an organization with its credential (stored encrypted).
    public func register(_ organization: Organization, credential: StoredCredential, oauthApplication: OAuthApplication?) async throws {
        let sealedApplication = try oauthApplication.map {
            // The application is sealed with the same cipher, under its own context so it can never be
            // swapped for a token blob.
            try cipher.seal(.personalAccessToken(appID: $0.clientID, secret: $0.clientSecret), orgID: "oauth-application:\(organization.id)")
        }
        try await client.queryUnlessClosed("""
            INSERT INTO organizations (id, name, adapter, api_base_url, oauth_client_id, sealed_oauth_client, oauth_client_key_id)
            VALUES (\(organization.id), \(organization.name), \(organization.adapter), \(organization.apiBaseURL),
                    \(oauthApplication?.clientID), \(sealedApplication.map { ByteBuffer(data: $0) }),
                    \(oauthApplication == nil ? nil : cipher.keyID))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, adapter = excluded.adapter, api_base_url = excluded.api_base_url,
                oauth_client_id = excluded.oauth_client_id, sealed_oauth_client = excluded.sealed_oauth_client,
                oauth_client_key_id = excluded.oauth_client_key_id, updated_at = now()
            """, logger: logger)
        _ = try await credentials.saveCredential(credential, orgID: organization.id)
    }

    public func organization(id: String) async throws -> Organization? {
        try await organizations(where: "id = $1", binds: postgresBindings(id)).first
    }

    public func all() async throws -> [Organization] {
        try await organizations(where: "true", binds: PostgresBindings())
    }

    public func oauthApplication(orgID: String) async throws -> OAuthApplication? {
        let rows = try await client.queryUnlessClosed("""
            SELECT oauth_client_id, sealed_oauth_client, oauth_client_key_id FROM organizations WHERE id = \(orgID)
            """, logger: logger)
        for (clientID, sealed, keyID) in try rows.decode((String?, ByteBuffer?, String?).self) {
            guard let clientID, let sealed, let keyID else { return nil }
            let opened = try cipher.open(Data(buffer: sealed), orgID: "oauth-application:\(orgID)", storedKeyID: keyID)
            guard case .personalAccessToken(_, let secret) = opened else { return nil }
            return OAuthApplication(clientID: clientID, clientSecret: secret)
        }
        return nil
    }

    private func organizations(where condition: String, binds: PostgresBindings) async throws -> [Organization] {
        let rows = try await client.queryUnlessClosed(PostgresQuery(unsafeSQL: """
            SELECT id, name, adapter, api_base_url FROM organizations WHERE \(condition) ORDER BY id
            """, binds: binds), logger: logger)
        var result: [Organization] = []
        for (id, name, adapter, url) in try rows.decode((String, String, String, String).self) {
            result.append(Organization(id: id, name: name, adapter: adapter, apiBaseURL: url))
        }
        return result
    }
}
