import Foundation

/// Answers PCO API requests: authentication, rate limiting, faults, routing, rendering, logging.
struct APIHandler: Sendable {
    let core: SimulatorCore

    func handle(_ request: SimRequest) async -> SimResponse {
        if request.path.hasPrefix("/oauth/") {
            let response = OAuthHandler(core: core).handle(request)
            log(request, org: nil, credential: nil, status: response.status, rateCount: 0)
            return response
        }
        let now = core.clock.wallSeconds()
        let pairs = QueryString.parse(request.query)
        let auth = core.oauth.withLock { oauth in
            CredentialCheck.authenticate(authorization: request.headers["authorization"], personalAccessTokens: core.personalAccessTokens, oauth: oauth, now: now)
        }
        let caller = try? auth.get()
        let offset = pairs.last { $0.key == "offset" }.flatMap { Int($0.value) } ?? 0

        // Rate limit first: PCO counts every request of a credential, rejected ones included.
        let (decision, fault, settings) = core.faults.withLock { state -> (RateDecision, FaultDecision, FaultSettings) in
            let forced = state.forced429Remaining > 0
            if forced { state.forced429Remaining -= 1 }
            let decision = core.limiter.withLock {
                $0.requestArrived(credential: caller?.rateLimitKey ?? "anonymous", offset: offset, now: core.clock.monotonicSeconds(),
                                  policy: state.settings.rateLimit, forceReject: forced)
            }
            return (decision, state.injector.roll(state.settings), state.settings)
        }
        var headers = rateHeaders(decision, settings)
        let version = APIVersion(header: request.headers["x-pco-api-version"])
        if let caller {
            let app = request.path.split(separator: "/").first.map(String.init) ?? "people"
            headers.append(("X-PCO-API-Auth-Method", caller.method))
            headers.append(("X-PCO-API-Processed-As-Version", version.processedAs(app: app)))
            headers.append(("X-PCO-API-Processor", "PCO-SIM"))
        }

        func finish(_ response: SimResponse) -> SimResponse {
            var response = response
            response.headers += headers
            log(request, org: caller?.orgID, credential: caller?.credentialLabel, status: response.status, rateCount: decision.count)
            return response
        }

        if !decision.allowed {
            var w = JSONWriter(capacity: 128)
            w.raw("{\"errors\":[{\"code\":\"429\",\"detail\":")
            w.string("Rate limit exceeded: \(decision.count) of \(decision.limit) requests per \(decision.periodSeconds) seconds")
            w.raw("}]}")
            var response = SimResponse.json(429, w.bytes)
            if !settings.omitRetryAfter { response.headers.append(("Retry-After", String(decision.retryAfterSeconds))) }
            return finish(response)
        }
        if fault.delaySeconds > 0 {
            try? await Task.sleep(nanoseconds: UInt64(fault.delaySeconds * 1_000_000_000))
        }
        if let status = fault.serverError {
            let error = PCOAPIError(status: status, title: FaultInjector.serverErrorTitle(status), detail: "Simulated server error")
            return finish(.error(error))
        }
        guard let caller else {
            if case .failure(let error) = auth { return finish(.error(error)) }
            return finish(.error(.unauthorized(hint: nil, detail: "Unauthorized")))
        }
        guard let store = core.storesByID[caller.orgID] else {
            return finish(.error(.unauthorized(hint: "LEMMING", detail: "The authenticated organization does not exist (LEMMING)")))
        }
        var response: SimResponse
        do {
            response = try respond(request, pairs: pairs, store: store, version: version)
        } catch {
            response = .error(error)
        }
        if response.status == 200, fault.corruption != .none {
            response.body = core.faults.withLock { $0.injector.corrupt(response.body, fault.corruption) }
        }
        return finish(response)
    }

    private func rateHeaders(_ decision: RateDecision, _ settings: FaultSettings) -> [(String, String)] {
        let period = settings.periodFormat == .bare ? String(decision.periodSeconds) : "\(decision.periodSeconds) seconds"
        return [
            ("X-PCO-API-Request-Rate-Limit", String(decision.limit)),
            ("X-PCO-API-Request-Rate-Period", period),
            ("X-PCO-API-Request-Rate-Count", String(decision.count)),
        ]
    }

    private func respond(_ request: SimRequest, pairs: [(key: String, value: String)], store: OrgStore, version: APIVersion) throws(PCOAPIError) -> SimResponse {
        guard let route = APIRouter.route(path: request.path) else { throw .notFound }
        let baseURL = core.baseURL.withLock { $0 }
        switch route {
        case .availableWebhookEvents, .webhookSubscriptions, .webhookSubscription, .webhookRotateSecret:
            return try WebhookAPIHandler(core: core, baseURL: baseURL).handle(route, request: request, orgID: store.org.id)
        case .organization(let app):
            guard request.method == "GET" else { throw .methodNotAllowed(request.method) }
            let body = store.read { data, _ in
                DocumentRenderer(data: data, org: store.org, baseURL: baseURL, version: version).organizationDocument(app: app)
            }
            return ok(body, version: version, app: app)
        case .list(let kind, let scope):
            if request.method == "POST" { try rejectWrite(request) }
            guard request.method == "GET" else { throw .methodNotAllowed(request.method) }
            let parser = QueryParser(schema: kind.schema, orgTimeZone: store.org.timeZone, perPageOverflow: core.configuration.perPageOverflow)
            let query = try parser.parseList(pairs)
            let body = try store.read { (data, wholeTable) throws(PCOAPIError) -> [UInt8] in
                if let parent = scope.parent, data.record(parent.kind, parent.id) == nil { throw .notFound }
                let ids = RecordSelection(data: data, kind: kind).ids(scope: scope, query: query) { wholeTable(kind, $0) }
                return DocumentRenderer(data: data, org: store.org, baseURL: baseURL, version: version)
                    .collection(kind: kind, scope: scope, ids: ids, query: query, path: request.path)
            }
            return ok(body, version: version, app: kind.schema.app)
        case .single(let kind, let id, let scope):
            if request.method == "PATCH" || request.method == "PUT" { try rejectWrite(request) }
            guard request.method == "GET" else { throw .methodNotAllowed(request.method) }
            let query = try QueryParser(schema: kind.schema, orgTimeZone: store.org.timeZone).parseSingle(pairs)
            let body = try store.read { (data, _) throws(PCOAPIError) -> [UInt8] in
                guard let record = data.record(kind, id) else { throw .notFound }
                if case .children(let via, _, let parentID) = scope,
                   let rel = kind.schema.toOneIndex(via), record.toOne[rel] != parentID {
                    throw .notFound
                }
                return DocumentRenderer(data: data, org: store.org, baseURL: baseURL, version: version)
                    .single(kind: kind, record: record, query: query)
            }
            return ok(body, version: version, app: kind.schema.app)
        }
    }

    /// Writes through the API are not simulated (data changes come from `/__sim/mutate`); a body
    /// without `data` gets PCO's own 400 (recording 11).
    private func rejectWrite(_ request: SimRequest) throws(PCOAPIError) -> Never {
        if JSONValue.parse(request.body)?["data"] == nil {
            throw PCOAPIError(status: 400, title: "Bad Request", code: "invalid_resource_payload", detail: "The payload given does not contain a 'data' key.")
        }
        throw PCOAPIError(status: 403, title: "Forbidden", detail: "The simulator's API is read-only; change data with POST /__sim/mutate")
    }

    private func ok(_ body: [UInt8], version: APIVersion, app: String) -> SimResponse {
        SimResponse(status: 200, headers: [("Content-Type", SimResponse.jsonAPIContentType)], body: body)
    }

    private func log(_ request: SimRequest, org: String?, credential: String?, status: Int, rateCount: Int) {
        let time = UTCTime.formatDateTime(Int64(core.clock.wallSeconds()))
        core.requestLog.withLock { log in
            log.append { seq in
                RequestLogEntry(seq: seq, time: time, method: request.method, path: request.pathWithQuery, org: org,
                                credential: credential, status: status, rateCount: rateCount)
            }
        }
    }
}
