import Crypto
import Foundation
import SyncCore

/// Seals credentials for storage with AES-256-GCM, the key coming from `SYNC_TOKEN_KEY` (base64 of 32 bytes).
///
/// The organization id is bound as authenticated data, so a sealed blob copied to another organization's
/// row does not open. `keyID` (first 8 hex digits of the key's SHA-256) is stored next to each blob so
/// a key rotation is recognisable: opening with a different key names both ids instead of failing vaguely.
public struct TokenCipher: Sendable {
    public static let environmentVariable = "SYNC_TOKEN_KEY"

    let key: SymmetricKey
    /// Identifies the key without revealing it.
    public let keyID: String

    public init(key: SymmetricKey) {
        self.key = key
        let digest = SHA256.hash(data: key.withUnsafeBytes { Data($0) })
        self.keyID = String(digest.map { String(format: "%02x", $0) }.joined().prefix(8))
    }

    /// Parses the key as `SYNC_TOKEN_KEY` holds it; `value` is the variable's value (nil when unset).
    public init(base64Key value: String?, variable: String = TokenCipher.environmentVariable) throws(TokenKeyError) {
        guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw TokenKeyError(code: .missing, variable: variable)
        }
        guard let bytes = Data(base64Encoded: value.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TokenKeyError(code: .notBase64, variable: variable)
        }
        guard bytes.count == 32 else { throw TokenKeyError(code: .wrongLength, variable: variable, byteCount: bytes.count) }
        self.init(key: SymmetricKey(data: bytes))
    }

    /// Seals a credential for one organization: nonce, ciphertext and tag in one blob.
    public func seal(_ credential: StoredCredential, orgID: String) throws -> Data {
        let plaintext = try SerializedJSONEncoder.encode(credential)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(orgID.utf8))
        guard let combined = box.combined else { preconditionFailure("AES.GCM with the default nonce always has a combined form") }
        return combined
    }

    /// Opens a blob sealed by ``seal(_:orgID:)``; `storedKeyID` is the key id saved with it.
    public func open(_ sealed: Data, orgID: String, storedKeyID: String) throws(TokenDecryptionError) -> StoredCredential {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plaintext = try AES.GCM.open(box, using: key, authenticating: Data(orgID.utf8))
            return try JSONDecoder().decode(StoredCredential.self, from: plaintext)
        } catch {
            throw TokenDecryptionError(orgID: orgID, storedKeyID: storedKeyID, currentKeyID: keyID, reason: "\(error)")
        }
    }
}

/// A stored credential does not open with the current key.
public struct TokenDecryptionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var orgID: String
    public var storedKeyID: String
    public var currentKeyID: String
    public var reason: String

    public var description: String {
        if storedKeyID != currentKeyID {
            return "the PCO credential of org \(orgID) was sealed with key \(storedKeyID) but \(TokenCipher.environmentVariable) is key \(currentKeyID): "
                + "set the key the credential was stored with, or connect the organization again"
        }
        return "the PCO credential of org \(orgID) does not open with key \(currentKeyID) (the stored blob is damaged or was moved between orgs): \(reason)"
    }
}
