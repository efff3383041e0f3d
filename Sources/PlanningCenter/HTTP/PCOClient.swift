import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import SyncCore

/// GETs from one organization's PCO API: authorization, the credential's rate limiter, retries.
///
/// Per attempt: take a permit from the limiter, send, report the outcome to the limiter. Then:
/// - 2xx → the response.
/// - 429 → the limiter blocks until `Retry-After`; retried, at most `maxRateLimitRetries` times and
///   `maxRateLimitWait` in total.
/// - 401 with an OAuth token → one refresh through the ``PCOCredentialProvider``, one retry.
/// - 5xx, no response, timeout → bounded exponential backoff with full jitter (``BackoffPolicy``).
/// - Any other 4xx → ``PCORequestError`` `.rejected` with PCO's code and detail; never retried.
public struct PCOClient: Sendable {
    public let configuration: PCOClientConfiguration
    public let counters: PCORequestCounters
    let httpClient: HTTPClient
    let credentials: PCOCredentialProvider
    let limiter: PCORateLimiter
    let clock: any RequestClock
    let random: Locked<any RandomNumberGenerator>
    let observer: (@Sendable (PCORequestEvent) -> Void)?
    let logger: Logger

    /// - Parameters:
    ///   - limiter: The credential's limiter, shared with every other client of the same credential
    ///     (take it from a ``PCORateLimiterRegistry``).
    ///   - counters: Where requests, 429s and retries are counted; pass a shared one to add clients up.
    ///   - random: The jitter source; a ``SplitMix64`` makes retries reproducible.
    ///   - observer: Told about every attempt when it ends; must be quick (it runs on the request's task).
    public init(
        configuration: PCOClientConfiguration,
        httpClient: HTTPClient,
        credentials: PCOCredentialProvider,
        limiter: PCORateLimiter,
        counters: PCORequestCounters = PCORequestCounters(),
        clock: any RequestClock = ContinuousRequestClock(),
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        observer: (@Sendable (PCORequestEvent) -> Void)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.credentials = credentials
        self.limiter = limiter
        self.counters = counters
        self.clock = clock
        self.random = Locked(random)
        self.observer = observer
        var logger = logger
        logger[metadataKey: "sync.org"] = "\(configuration.orgID)"
        self.logger = logger
    }

    /// The full URL of `path` with `query`.
    public func url(path: String, query: [PCOQueryItem]) -> String {
        let base = configuration.baseURL + (path.hasPrefix("/") ? path : "/" + path)
        return query.isEmpty ? base : base + "?" + PCOQueryItem.encode(query)
    }

    /// GETs `path` until it succeeds or fails for good; see the type's documentation for what is retried.
    public func get(path: String, query: [PCOQueryItem] = []) async throws -> PCOResponse {
        var attempt = RequestAttempts(url: url(path: path, query: query))
        return try await send(&attempt)
    }

    /// GETs a JSON:API document. A 2xx body that does not decode (truncated or malformed JSON, which
    /// happens transiently) is fetched again under the same backoff budget as a 5xx; when the budget is
    /// spent the error is `.malformedBody`, naming the URL and what the decoder said.
    public func getDocument(path: String, query: [PCOQueryItem] = []) async throws -> (response: PCOResponse, document: JSONAPIDocument) {
        var attempt = RequestAttempts(url: url(path: path, query: query))
        while true {
            let response = try await send(&attempt)
            do {
                return (response, try JSONAPIDocument.decode(response.body))
            } catch {
                counters.update { $0.malformedBodies += 1 }
                let detail = "the body (\(response.body.count) bytes) is not a JSON:API document: \(error)"
                try await backOff(&attempt, code: .malformedBody, status: response.status, detail: detail)
            }
        }
    }

    /// The pages of a list, from `offset`, following `meta.next`, one page fetched ahead.
    public func pages(_ request: PCOListRequest, from offset: Int = 0) -> PCOPageSequence {
        PCOPageSequence(client: self, request: request, startOffset: offset)
    }

    // MARK: Internals

    struct RequestAttempts {
        var url: String
        var sent = 0
        var failures = 0
        var rateLimited = 0
        var rateLimitWait: Duration = .zero
        var refreshedAfter401 = false
    }

    private func send(_ attempt: inout RequestAttempts) async throws -> PCOResponse {
        let orgID = configuration.orgID
        while true {
            try Task.checkCancellation()
            let authorization = try await credentials.authorization()
            let waitStart = clock.now
            let ticket = try await limiter.acquire()
            let waited = clock.now - waitStart
            attempt.sent += 1
            counters.update {
                $0.requests += 1
                $0.rateLimitWait += waited
                if attempt.sent > 1 { $0.retries += 1 }
            }

            var request = HTTPClientRequest(url: attempt.url)
            request.method = .GET
            request.headers.add(name: "Authorization", value: authorization.headerValue)
            request.headers.add(name: "Accept", value: "application/vnd.api+json")
            request.headers.add(name: "User-Agent", value: configuration.userAgent)

            let status: Int
            var headers: [String: String] = [:]
            let body: Data
            let sentAt = clock.now
            func report(_ status: Int?, retryAfter: Duration? = nil) {
                observer?(PCORequestEvent(url: attempt.url, attempt: attempt.sent, status: status, sentAt: sentAt,
                                          completedAt: clock.now, retryAfter: retryAfter))
            }
            do {
                let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.totalNanosecondsForNIO)
                let response = try await httpClient.execute(request, timeout: timeout, logger: logger)
                status = Int(response.status.code)
                for header in response.headers { headers[header.name.lowercased()] = header.value }
                body = Data(buffer: try await response.body.collect(upTo: configuration.maxBodyBytes))
            } catch {
                await limiter.completed(ticket, .failed)
                report(nil)
                if Task.isCancelled { throw CancellationError() }
                counters.update { $0.networkErrors += 1 }
                try await backOff(&attempt, code: .network, status: nil, detail: "no response: \(error)")
                continue
            }

            let rateLimit = RateLimitHeaders(header: { headers[$0.lowercased()] })
            if status == 429 {
                let retryAfter = headers["retry-after"].flatMap(RateLimitHeaders.parseRetryAfter)
                await limiter.completed(ticket, .rateLimited(retryAfter: retryAfter, headers: rateLimit))
                report(429, retryAfter: retryAfter)
                counters.update { $0.rateLimited += 1 }
                attempt.rateLimited += 1
                attempt.rateLimitWait += retryAfter ?? rateLimit?.period ?? .seconds(20)
                logger.debug("PCO answered 429", metadata: [
                    "sync.url": "\(attempt.url)", "sync.retry_after": "\(retryAfter.map { "\($0)" } ?? "-")",
                ])
                if attempt.rateLimited > configuration.maxRateLimitRetries || attempt.rateLimitWait > configuration.maxRateLimitWait {
                    throw PCORequestError(
                        code: .rateLimitExhausted, orgID: orgID, url: attempt.url, status: 429, pcoCode: "429",
                        detail: "rate limited \(attempt.rateLimited) times, \(attempt.rateLimitWait) of Retry-After in total",
                        attempts: attempt.sent
                    )
                }
                continue  // the limiter holds the next permit until Retry-After has passed
            }
            await limiter.completed(ticket, .responded(rateLimit))
            report(status)

            switch status {
            case 200..<300:
                counters.update { $0.succeeded += 1 }
                return PCOResponse(url: attempt.url, status: status, headers: headers, body: body, rateLimit: rateLimit, attempts: attempt.sent,
                                   rateLimited: attempt.rateLimited)
            case 401 where authorization.isOAuth && !attempt.refreshedAfter401:
                attempt.refreshedAfter401 = true
                counters.update { $0.unauthorizedRefreshes += 1 }
                if try await credentials.accessTokenRejected(authorization) { continue }
                throw rejection(.unauthorized, status: status, body: body, attempt: attempt)
            case 401:
                throw rejection(.unauthorized, status: status, body: body, attempt: attempt)
            case 500...:
                counters.update { $0.serverErrors += 1 }
                let document = PCOErrorDocument.decode(body)
                try await backOff(&attempt, code: .serverError, status: status,
                                  detail: document?.primaryDetail ?? "HTTP \(status)", pcoCode: document?.primaryCode)
            default:
                throw rejection(.rejected, status: status, body: body, attempt: attempt)
            }
        }
    }

    private func rejection(_ code: PCORequestError.Code, status: Int, body: Data, attempt: RequestAttempts) -> PCORequestError {
        let document = PCOErrorDocument.decode(body)
        return PCORequestError(
            code: code, orgID: configuration.orgID, url: attempt.url, status: status, pcoCode: document?.primaryCode,
            detail: document?.primaryDetail ?? String(decoding: body.prefix(300), as: UTF8.self), attempts: attempt.sent
        )
    }

    /// Sleeps the next backoff delay, or throws when the retries are spent.
    private func backOff(_ attempt: inout RequestAttempts, code: PCORequestError.Code, status: Int?, detail: String, pcoCode: String? = nil) async throws {
        attempt.failures += 1
        let failures = attempt.failures
        let delay = random.withLock { generator in configuration.backoff.delay(afterFailures: failures, using: &generator) }
        guard let delay else {
            throw PCORequestError(code: code, orgID: configuration.orgID, url: attempt.url, status: status, pcoCode: pcoCode,
                                  detail: detail, attempts: attempt.sent)
        }
        logger.debug("retrying PCO request", metadata: [
            "sync.url": "\(attempt.url)", "sync.failure": "\(code.rawValue)", "sync.delay": "\(delay)",
        ])
        try await clock.sleep(until: clock.now + delay)
    }
}
