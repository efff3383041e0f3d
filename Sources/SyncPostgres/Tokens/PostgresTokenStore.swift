import Foundation
import Logging
import PostgresNIO
import SyncCore

/// Credentials in `adapter_tokens`, sealed with a ``TokenCipher``.
///
/// `replaceCredential` is one `UPDATE ... WHERE version = $expected`, so the rotated refresh token and
/// its access token land together or not at all, and of two processes refreshing at once exactly one
/// stores its pair (the other sees nil and reloads).
public struct PostgresTokenStore: CredentialStore {
    let client: PostgresClient
    let cipher: TokenCipher
    let logger: Logger

    /// `client` must be running (its `run()` is the caller's).
    public init(client: PostgresClient, cipher: TokenCipher, logger: Logger) {
        self.client = client
        self.cipher = cipher
        self.logger = logger
    }

    public func loadCredential(orgID: String) async throws -> VersionedCredential? {
        let rows = try await client.queryUnlessClosed(
            "SELECT sealed, key_id, version FROM adapter_tokens WHERE org_id = \(orgID)", logger: logger
        )
        for (sealed, keyID, version) in try rows.decode((ByteBuffer, String, Int64).self) {
            let credential = try cipher.open(Data(buffer: sealed), orgID: orgID, storedKeyID: keyID)
            return VersionedCredential(credential: credential, version: version)
        }
        return nil
    }

    public func saveCredential(_ credential: StoredCredential, orgID: String) async throws -> Int64 {
        let sealed = ByteBuffer(data: try cipher.seal(credential, orgID: orgID))
        let kind = credential.kind
        let keyID = cipher.keyID
        let expiresAt = Self.expiry(of: credential)
        let rows = try await client.queryUnlessClosed("""
            INSERT INTO adapter_tokens (org_id, kind, sealed, key_id, access_expires_at, version, updated_at)
            VALUES (\(orgID), \(kind), \(sealed), \(keyID), \(expiresAt), 1, now())
            ON CONFLICT (org_id) DO UPDATE SET
                kind = EXCLUDED.kind, sealed = EXCLUDED.sealed, key_id = EXCLUDED.key_id,
                access_expires_at = EXCLUDED.access_expires_at,
                version = adapter_tokens.version + 1, updated_at = now()
            RETURNING version
            """, logger: logger)
        for version in try rows.decode(Int64.self) { return version }
        preconditionFailure("INSERT ... RETURNING returned no row for org \(orgID)")
    }

    public func replaceCredential(_ credential: StoredCredential, orgID: String, expectedVersion: Int64) async throws -> Int64? {
        let sealed = ByteBuffer(data: try cipher.seal(credential, orgID: orgID))
        let kind = credential.kind
        let keyID = cipher.keyID
        let expiresAt = Self.expiry(of: credential)
        let rows = try await client.queryUnlessClosed("""
            UPDATE adapter_tokens
            SET kind = \(kind), sealed = \(sealed), key_id = \(keyID), access_expires_at = \(expiresAt),
                version = version + 1, updated_at = now()
            WHERE org_id = \(orgID) AND version = \(expectedVersion)
            RETURNING version
            """, logger: logger)
        for version in try rows.decode(Int64.self) { return version }
        return nil
    }

    static func expiry(of credential: StoredCredential) -> Date? {
        credential.oauthTokens.map { Date(timeIntervalSince1970: TimeInterval($0.accessExpiresAt)) }
    }
}
