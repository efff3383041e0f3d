/// Every run-time knob of the simulator: faults, limits, token lifetimes, mutation and webhook behaviour.
///
/// Settable at start (CLI flags of `syncengine pco-sim`) and at run time (`POST /__sim/faults` with any
/// subset of the JSON keys below; `GET /__sim/faults` shows the current values). JSON keys and defaults:
///
/// - `error_rate_5xx` (0): probability that an API request answers 500, 502, 503 or 504 with a PCO error body.
/// - `latency_ms` (0) and `latency_jitter_ms` (0): added delay per API request, fixed plus uniform jitter.
/// - `malformed_rate` (0): probability that a 200 body is replaced by invalid JSON.
/// - `truncated_rate` (0): probability that a 200 body is cut short (valid headers, incomplete JSON).
/// - `rate_limit` ({limit 100, period_seconds 20, deep_offset_limit 75, deep_offset_threshold 30000, enabled true}).
/// - `force_429_count` (0): the next N API requests answer 429 whatever the count (they still count).
/// - `period_format` ("seconds"): `X-PCO-API-Request-Rate-Period` as `20 seconds`, or `bare` for `20`
///   (both appear in PCO recordings).
/// - `omit_retry_after` (false): leave `Retry-After` off 429s.
/// - `access_token_lifetime_seconds` (7200): lifetime of newly issued OAuth access tokens.
/// - `mutations_per_second` (0): background random mutations across all orgs.
/// - `webhook_delay_ms` (0), `webhook_duplicate_rate` (0), `webhook_wrong_signature_rate` (0),
///   `webhook_drop_rate` (0): delivery knobs; `webhook_retry_base_ms` (30000): first retry delay after a
///   non-2xx answer, doubling up to 16 attempts (PCO's schedule, compressible for tests).
///
/// One-shot actions accepted by `POST /__sim/faults` but not stored: `expire_tokens: ["<org>"]` expires
/// every OAuth access token of those orgs (clients then see BABOON), `revoke_tokens: ["<org>"]` revokes
/// their access and refresh tokens (CAPUCHIN), `reset_rate_limits: true` clears every window.
public struct FaultSettings: Sendable, Hashable, Codable {
    public enum PeriodFormat: String, Sendable, Hashable, Codable {
        case seconds
        case bare
    }

    public var errorRate5xx: Double = 0
    public var latencyMs: Double = 0
    public var latencyJitterMs: Double = 0
    public var malformedRate: Double = 0
    public var truncatedRate: Double = 0
    public var rateLimit: RateLimitPolicy = .pcoDefault
    public var force429Count: Int = 0
    public var periodFormat: PeriodFormat = .seconds
    public var omitRetryAfter: Bool = false
    public var accessTokenLifetimeSeconds: Int = 7200
    public var mutationsPerSecond: Double = 0
    public var webhookDelayMs: Double = 0
    public var webhookDuplicateRate: Double = 0
    public var webhookWrongSignatureRate: Double = 0
    public var webhookDropRate: Double = 0
    public var webhookRetryBaseMs: Double = 30_000

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case errorRate5xx = "error_rate_5xx"
        case latencyMs = "latency_ms"
        case latencyJitterMs = "latency_jitter_ms"
        case malformedRate = "malformed_rate"
        case truncatedRate = "truncated_rate"
        case rateLimit = "rate_limit"
        case force429Count = "force_429_count"
        case periodFormat = "period_format"
        case omitRetryAfter = "omit_retry_after"
        case accessTokenLifetimeSeconds = "access_token_lifetime_seconds"
        case mutationsPerSecond = "mutations_per_second"
        case webhookDelayMs = "webhook_delay_ms"
        case webhookDuplicateRate = "webhook_duplicate_rate"
        case webhookWrongSignatureRate = "webhook_wrong_signature_rate"
        case webhookDropRate = "webhook_drop_rate"
        case webhookRetryBaseMs = "webhook_retry_base_ms"
    }

    /// Applies a partial update from `POST /__sim/faults`; unknown keys and wrong types are errors.
    mutating func apply(_ patch: [String: JSONValue]) throws(SettingsError) {
        let actions: Set<String> = ["expire_tokens", "revoke_tokens", "reset_rate_limits"]
        for (key, value) in patch where !actions.contains(key) {
            guard let field = CodingKeys(rawValue: key) else { throw SettingsError(key: key, detail: "unknown setting") }
            func number() throws(SettingsError) -> Double {
                guard let n = value.doubleValue, n >= 0 else { throw SettingsError(key: key, detail: "expected a non-negative number") }
                return n
            }
            func rate() throws(SettingsError) -> Double {
                let n = try number()
                guard n <= 1 else { throw SettingsError(key: key, detail: "expected a probability between 0 and 1") }
                return n
            }
            switch field {
            case .errorRate5xx: errorRate5xx = try rate()
            case .latencyMs: latencyMs = try number()
            case .latencyJitterMs: latencyJitterMs = try number()
            case .malformedRate: malformedRate = try rate()
            case .truncatedRate: truncatedRate = try rate()
            case .force429Count: force429Count = Int(try number())
            case .omitRetryAfter:
                guard let b = value.boolValue else { throw SettingsError(key: key, detail: "expected a boolean") }
                omitRetryAfter = b
            case .periodFormat:
                guard let f = value.stringValue.flatMap(PeriodFormat.init(rawValue:)) else {
                    throw SettingsError(key: key, detail: "expected \"seconds\" or \"bare\"")
                }
                periodFormat = f
            case .accessTokenLifetimeSeconds:
                let n = Int(try number())
                guard n >= 1 else { throw SettingsError(key: key, detail: "expected at least 1 second") }
                accessTokenLifetimeSeconds = n
            case .mutationsPerSecond: mutationsPerSecond = try number()
            case .webhookDelayMs: webhookDelayMs = try number()
            case .webhookDuplicateRate: webhookDuplicateRate = try rate()
            case .webhookWrongSignatureRate: webhookWrongSignatureRate = try rate()
            case .webhookDropRate: webhookDropRate = try rate()
            case .webhookRetryBaseMs: webhookRetryBaseMs = try number()
            case .rateLimit:
                if case .null = value {
                    rateLimit.enabled = false
                    continue
                }
                guard case .object(let o) = value else { throw SettingsError(key: key, detail: "expected an object or null") }
                if let n = o["limit"]?.intValue { rateLimit.limit = max(1, n) }
                if let n = o["period_seconds"]?.intValue { rateLimit.periodSeconds = max(1, n) }
                if let n = o["deep_offset_limit"]?.intValue { rateLimit.deepOffsetLimit = max(1, n) }
                if let n = o["deep_offset_threshold"]?.intValue { rateLimit.deepOffsetThreshold = max(0, n) }
                if let b = o["enabled"]?.boolValue { rateLimit.enabled = b }
            }
        }
    }
}

/// A setting that could not be applied.
public struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var detail: String
    public var description: String { "\(key): \(detail)" }
}
