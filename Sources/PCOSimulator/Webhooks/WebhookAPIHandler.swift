/// PCO's Webhooks API for the authenticated org: available events and subscriptions.
struct WebhookAPIHandler: Sendable {
    let core: SimulatorCore
    let baseURL: String

    func handle(_ route: APIRoute, request: SimRequest, orgID: String) throws(PCOAPIError) -> SimResponse {
        let now = Int64(core.clock.wallSeconds())
        switch route {
        case .availableWebhookEvents:
            guard request.method == "GET" else { throw .methodNotAllowed(request.method) }
            var w = JSONWriter(capacity: 4096)
            w.raw("{\"links\":{\"self\":")
            w.string(baseURL + "/webhooks/v2/available_events")
            w.raw("},\"data\":[")
            for (i, name) in WebhookEventNames.all.enumerated() {
                if i > 0 { w.byte(",") }
                let parts = name.split(separator: ".").map(String.init)
                w.raw("{\"type\":\"AvailableEvent\",\"id\":")
                w.string(name)
                w.raw(",\"attributes\":{\"action\":")
                w.string(parts[4])
                w.raw(",\"app\":")
                w.string(parts[0])
                w.raw(",\"name\":")
                w.string(name)
                w.raw(",\"resource\":")
                w.string(parts[3])
                w.raw(",\"version\":\"v2\"}}")
            }
            w.raw("],\"included\":[],\"meta\":{\"total_count\":")
            w.int(WebhookEventNames.all.count)
            w.raw(",\"count\":")
            w.int(WebhookEventNames.all.count)
            w.raw(",\"parent\":{\"id\":")
            w.string(orgID)
            w.raw(",\"type\":\"Organization\"}}}")
            return ok(w.bytes)
        case .webhookSubscriptions(let typeName):
            switch request.method {
            case "GET":
                let subs = core.webhooks.subscriptions.withLock { $0.list(orgID: orgID) }
                var w = JSONWriter(capacity: 1024)
                w.raw("{\"links\":{\"self\":")
                w.string(baseURL + request.path)
                w.raw("},\"data\":[")
                for (i, sub) in subs.enumerated() {
                    if i > 0 { w.byte(",") }
                    write(&w, sub, typeName: typeName, path: request.path)
                }
                w.raw("],\"included\":[],\"meta\":{\"total_count\":")
                w.int(subs.count)
                w.raw(",\"count\":")
                w.int(subs.count)
                w.raw(",\"parent\":{\"id\":")
                w.string(orgID)
                w.raw(",\"type\":\"Organization\"}}}")
                return ok(w.bytes)
            case "POST":
                guard let attributes = JSONValue.parse(request.body)?["data"]?["attributes"] else {
                    throw PCOAPIError(status: 400, title: "Bad Request", code: "invalid_resource_payload", detail: "The payload given does not contain a 'data' key.")
                }
                guard let name = attributes["name"]?.stringValue, WebhookEventNames.all.contains(name) else {
                    throw PCOAPIError(status: 422, title: "Unprocessable Entity", code: "invalid", detail: "name must be one of the available events")
                }
                guard let url = attributes["url"]?.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw PCOAPIError(status: 422, title: "Unprocessable Entity", code: "invalid", detail: "url must be an http(s) URL")
                }
                let active = attributes["active"]?.boolValue ?? true
                let sub = core.webhooks.subscriptions.withLock { $0.create(orgID: orgID, name: name, url: url, active: active, now: now) }
                return single(sub, typeName: typeName, path: request.path, status: 201)
            default:
                throw .methodNotAllowed(request.method)
            }
        case .webhookSubscription(let id, let typeName):
            let collection = "/" + request.path.split(separator: "/").dropLast().joined(separator: "/")
            switch request.method {
            case "GET":
                guard let sub = core.webhooks.subscriptions.withLock({ $0.subscription(orgID: orgID, id: id) }) else { throw .notFound }
                return single(sub, typeName: typeName, path: collection)
            case "PATCH":
                guard let active = JSONValue.parse(request.body)?["data"]?["attributes"]?["active"]?.boolValue else {
                    throw PCOAPIError(status: 422, title: "Unprocessable Entity", code: "invalid", detail: "only `active` can be changed")
                }
                guard let sub = core.webhooks.subscriptions.withLock({ $0.setActive(orgID: orgID, id: id, active: active, now: now) }) else { throw .notFound }
                return single(sub, typeName: typeName, path: collection)
            case "DELETE":
                guard core.webhooks.subscriptions.withLock({ $0.delete(orgID: orgID, id: id) }) else { throw .notFound }
                return SimResponse(status: 204, headers: [], body: [])
            default:
                throw .methodNotAllowed(request.method)
            }
        case .webhookRotateSecret(let id, let typeName):
            guard request.method == "POST" else { throw .methodNotAllowed(request.method) }
            guard let sub = core.webhooks.subscriptions.withLock({ $0.rotateSecret(orgID: orgID, id: id, now: now) }) else { throw .notFound }
            let collection = "/" + request.path.split(separator: "/").dropLast(2).joined(separator: "/")
            return single(sub, typeName: typeName, path: collection)
        default:
            throw .notFound
        }
    }

    private func write(_ w: inout JSONWriter, _ sub: WebhookSubscription, typeName: String, path collection: String) {
        w.raw("{\"type\":")
        w.string(typeName)
        w.raw(",\"id\":")
        w.string(String(sub.id))
        w.raw(",\"attributes\":{\"active\":")
        w.bool(sub.active)
        w.raw(",\"application_id\":\"sim\",\"authenticity_secret\":")
        w.string(sub.authenticitySecret)
        w.raw(",\"created_at\":")
        w.string(UTCTime.formatDateTime(sub.createdAt))
        w.raw(",\"name\":")
        w.string(sub.name)
        w.raw(",\"updated_at\":")
        w.string(UTCTime.formatDateTime(sub.updatedAt))
        w.raw(",\"url\":")
        w.string(sub.url)
        w.raw("},\"relationships\":{},\"links\":{\"self\":")
        w.string(baseURL + collection + "/" + String(sub.id))
        w.raw("}}")
    }

    private func single(_ sub: WebhookSubscription, typeName: String, path: String, status: Int = 200) -> SimResponse {
        var w = JSONWriter(capacity: 512)
        w.raw("{\"data\":")
        write(&w, sub, typeName: typeName, path: path)
        w.raw(",\"included\":[],\"meta\":{}}")
        var response = ok(w.bytes)
        response.status = status
        return response
    }

    private func ok(_ body: [UInt8]) -> SimResponse {
        SimResponse(status: 200, headers: [("Content-Type", SimResponse.jsonAPIContentType)], body: body)
    }
}
