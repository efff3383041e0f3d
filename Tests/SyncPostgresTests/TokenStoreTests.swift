import Foundation
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

@Suite("Token encryption and the Postgres token store")
struct TokenStoreTests {
    static let keyBase64 = Data((0..<32).map { UInt8($0 * 5 & 0xFF) }).base64EncodedString()
    static let tokens = OAuthTokens(accessToken: "access-SECRET-1", refreshToken: "refresh-SECRET-1", accessExpiresAt: 1_900_000_000, scope: "people")

    @Test("SYNC_TOKEN_KEY missing, not base64 or not 32 bytes: a start-up error naming the problem")
    func keyErrors() {
        #expect(throws: TokenKeyError(code: .missing)) { try TokenCipher(base64Key: nil) }
        #expect(throws: TokenKeyError(code: .missing)) { try TokenCipher(base64Key: "  ") }
        #expect(throws: TokenKeyError(code: .notBase64)) { try TokenCipher(base64Key: "not base64!!") }
        #expect(throws: TokenKeyError(code: .wrongLength, byteCount: 16)) {
            try TokenCipher(base64Key: Data(repeating: 1, count: 16).base64EncodedString())
        }
        #expect("\(TokenKeyError(code: .wrongLength, byteCount: 16))".contains("SYNC_TOKEN_KEY decodes to 16 bytes, expected 32"))
    }

    @Test("seal and open round-trip; the key id is 8 hex digits; a wrong key or another org fails clearly")
    func cipher() throws {
        let cipher = try TokenCipher(base64Key: Self.keyBase64)
        #expect(cipher.keyID.count == 8 && cipher.keyID.allSatisfy(\.isHexDigit))
        let sealed = try cipher.seal(.oauth(Self.tokens), orgID: "1")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("SECRET"))
        #expect(try cipher.open(sealed, orgID: "1", storedKeyID: cipher.keyID) == .oauth(Self.tokens))

        let other = try TokenCipher(base64Key: Data(repeating: 9, count: 32).base64EncodedString())
        #expect(other.keyID != cipher.keyID)
        let wrongKey = #expect(throws: TokenDecryptionError.self) { try other.open(sealed, orgID: "1", storedKeyID: cipher.keyID) }
        #expect(wrongKey.map { "\($0)".contains("sealed with key \(cipher.keyID)") } == true)
        #expect(throws: TokenDecryptionError.self) { try cipher.open(sealed, orgID: "2", storedKeyID: cipher.keyID) }
    }

    @Test("save, load and compare-and-swap replace in Postgres; a stale version loses; secrets never stored in clear")
    func postgresStore() async throws {
        try await TemporaryDatabase.with(prefix: "tok") { database in
            _ = try await MigrationRunner(migrations: try MigrationDirectory.load(from: TestServices.migrationsDirectory), logger: TestServices.logger)
                .run(url: database.url)
            let connection = try await database.connect()
            try await connection.query("INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ('7', 'C', 'pco', 'x')", logger: TestServices.logger)
            let cipher = try TokenCipher(base64Key: Self.keyBase64)
            let client = PostgresClient(configuration: database.url.clientConfiguration, backgroundLogger: TestServices.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let store = PostgresTokenStore(client: client, cipher: cipher, logger: TestServices.logger)
                #expect(try await store.loadCredential(orgID: "7") == nil)
                #expect(try await store.saveCredential(.personalAccessToken(appID: "app", secret: "pat-SECRET"), orgID: "7") == 1)
                #expect(try await store.loadCredential(orgID: "7") == VersionedCredential(credential: .personalAccessToken(appID: "app", secret: "pat-SECRET"), version: 1))
                #expect(try await store.saveCredential(.oauth(Self.tokens), orgID: "7") == 2)

                var rotated = Self.tokens
                rotated.accessToken = "access-SECRET-2"
                rotated.refreshToken = "refresh-SECRET-2"
                // Two refreshers read version 2; the first to write wins, the second finds out.
                #expect(try await store.replaceCredential(.oauth(rotated), orgID: "7", expectedVersion: 2) == 3)
                #expect(try await store.replaceCredential(.oauth(Self.tokens), orgID: "7", expectedVersion: 2) == nil)
                #expect(try await store.loadCredential(orgID: "7") == VersionedCredential(credential: .oauth(rotated), version: 3))

                let rows = try await connection.query(
                    "SELECT kind, encode(sealed, 'escape'), key_id, extract(epoch FROM access_expires_at)::bigint FROM adapter_tokens WHERE org_id = '7'",
                    logger: TestServices.logger
                )
                for try await (kind, sealedText, keyID, expiresAt) in rows.decode((String, String, String, Int64).self) {
                    #expect(kind == "oauth")
                    #expect(!sealedText.contains("SECRET"))
                    #expect(keyID == cipher.keyID)
                    #expect(expiresAt == Self.tokens.accessExpiresAt)
                }
            }
            try await connection.close()
        }
    }
}
