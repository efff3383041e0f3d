/// `SYNC_TOKEN_KEY` is missing or unusable: reported at start-up, before any token is read.
public struct TokenKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case missing
        case notBase64
        case wrongLength
    }

    public var code: Code
    /// The environment variable the key comes from.
    public var variable: String
    /// Decoded length, for `.wrongLength`.
    public var byteCount: Int?

    public init(code: Code, variable: String = TokenCipher.environmentVariable, byteCount: Int? = nil) {
        self.code = code
        self.variable = variable
        self.byteCount = byteCount
    }

    public var description: String {
        let fix = "generate one with `openssl rand -base64 32` and set \(variable) to it"
        switch code {
        case .missing: return "\(variable) is not set: tokens are encrypted at rest with this key; \(fix)"
        case .notBase64: return "\(variable) is not valid base64: expected the base64 of 32 random bytes; \(fix)"
        case .wrongLength: return "\(variable) decodes to \(byteCount ?? 0) bytes, expected 32 (AES-256); \(fix)"
        }
    }
}
