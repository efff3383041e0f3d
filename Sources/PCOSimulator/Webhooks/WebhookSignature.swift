import Crypto

/// `X-PCO-Webhooks-Authenticity`: hex HMAC-SHA256 of the raw request body, keyed by the
/// subscription's `authenticity_secret`.
public enum WebhookSignature {
    public static func sign(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { byte in
            let hex = "0123456789abcdef"
            let hi = hex[hex.index(hex.startIndex, offsetBy: Int(byte >> 4))]
            let lo = hex[hex.index(hex.startIndex, offsetBy: Int(byte & 0xF))]
            return String([hi, lo])
        }.joined()
    }

    public static func verify(body: [UInt8], secret: String, signature: String) -> Bool {
        sign(body: body, secret: secret) == signature.lowercased()
    }
}
