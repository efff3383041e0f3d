/// A PCO request that did not succeed, with what PCO said and where.
///
/// `code` sorts the failure for the caller: `rejected` and `unauthorized` are permanent (retrying the
/// same request cannot help); `serverError`, `network` and `malformedBody` are what remained after the
/// bounded retries; `rateLimitExhausted` means the 429 budget (count or total wait) ran out.
public struct PCORequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A 4xx other than 401/429: a bad query, a missing resource, a missing scope.
        case rejected
        /// 401 that a token refresh did not cure (or a PAT that PCO refuses).
        case unauthorized
        /// Too many 429s for one request.
        case rateLimitExhausted
        /// 5xx after every retry.
        case serverError
        /// No response after every retry (connection refused or reset, timeout).
        case network
        /// A 2xx whose body is not the JSON:API document expected, after every retry.
        case malformedBody
        /// `meta.next` did not move forward: following it would loop forever.
        case paginationStalled
    }

    public var code: Code
    public var orgID: String
    /// The request URL (no credentials are ever in it).
    public var url: String
    /// The last HTTP status, nil when no response came.
    public var status: Int?
    /// PCO's error code (`errors[0].code`, or the auth hint such as `BABOON`), when it gave one.
    public var pcoCode: String?
    /// PCO's `detail`, or what went wrong on our side.
    public var detail: String
    /// How many times the request was sent.
    public var attempts: Int

    public init(code: Code, orgID: String, url: String, status: Int? = nil, pcoCode: String? = nil, detail: String, attempts: Int) {
        self.code = code
        self.orgID = orgID
        self.url = url
        self.status = status
        self.pcoCode = pcoCode
        self.detail = detail
        self.attempts = attempts
    }

    /// Whether the same request could succeed later without anything changing on our side.
    public var isTransient: Bool {
        switch code {
        case .serverError, .network, .malformedBody, .rateLimitExhausted: true
        case .rejected, .unauthorized, .paginationStalled: false
        }
    }

    public var description: String {
        var text = "PCO request \(code.rawValue) for org \(orgID): GET \(url)"
        if let status { text += " → \(status)" }
        if let pcoCode { text += " [\(pcoCode)]" }
        text += ": \(detail) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        return text
    }
}
