import Foundation
import PlanningCenter

/// The simulator's own control plane under `/__sim/` (not part of PCO): health, orgs and their
/// credentials, mutations, faults, the request log, webhook deliveries and the source dataset.
struct ControlAPIHandler: Sendable {
    let core: SimulatorCore

    func handle(_ request: SimRequest) async -> SimResponse {
        let parts = Array(request.path.split(separator: "/").map(String.init).dropFirst())  // drop "__sim"
        if request.method == "GET", parts.count == 2, parts[0] == "dataset" {
            guard let store = core.storesByID[parts[1]] else { return failure(404, "no org \(parts[1])") }
            return SimResponse.json(200, DatasetExport.render(store))
        }
        switch (request.method, parts) {
        case ("GET", ["health"]):
            return encode(["status": "ok", "orgs": String(core.stores.count), "base_url": core.baseURL.withLock { $0 }])
        case ("GET", ["orgs"]), ("GET", ["tenants"]):  // `tenants` is the spec's older name
            return encode(orgList())
        case ("POST", ["mutate"]):
            return mutate(request.body)
        case ("GET", ["faults"]):
            return encode(core.settings)
        case ("POST", ["faults"]):
            return updateFaults(request.body)
        case ("GET", ["requests"]):
            let since = QueryString.parse(request.query).first { $0.key == "since" }.flatMap { Int($0.value) } ?? 0
            return encode(core.requestLog.withLock { $0.entries(since: since) })
        case ("DELETE", ["requests"]):
            core.requestLog.withLock { $0.clear() }
            return SimResponse(status: 204, headers: [], body: [])
        case ("GET", ["webhooks"]):
            return encode(core.webhooks.deliveries())
        case ("POST", ["webhooks", "flush"]):
            let timeout = QueryString.parse(request.query).first { $0.key == "timeout" }.flatMap { Double($0.value) } ?? 10
            let pending = await core.webhooks.flush(timeout: timeout)
            return encode(["pending": pending])
        case ("GET", ["clock"]):
            return encode(["now": UTCTime.formatDateTime(Int64(core.clock.wallSeconds()))])
        default:
            return failure(404, "unknown control endpoint \(request.method) \(request.path)")
        }
    }

    /// One entry of `GET /__sim/orgs`.
    struct OrgEntry: Codable, Sendable {
        var id: String
        var name: String
        var timeZone: String
        var patAppID: String
        var patSecret: String
        /// `Basic base64(app_id:secret)`, ready for an `Authorization` header.
        var basicAuthorization: String
        var oauthClientID: String
        var oauthClientSecret: String
        var accessToken: String?
        var refreshToken: String?
        /// Seconds since 1970 when `access_token` expires.
        var expiresAt: Int?
        var counts: [String: Int]

        enum CodingKeys: String, CodingKey {
            case id, name, timeZone = "time_zone", patAppID = "pat_app_id", patSecret = "pat_secret"
            case basicAuthorization = "basic_authorization", oauthClientID = "oauth_client_id"
            case oauthClientSecret = "oauth_client_secret", accessToken = "access_token", refreshToken = "refresh_token"
            case expiresAt = "expires_at", counts
        }
    }

    private func orgList() -> [OrgEntry] {
        let pairs = core.oauth.withLock { $0.latestPair }
        return core.stores.map { store in
            let org = store.org
            let counts = store.read { data, _ in
                Dictionary(uniqueKeysWithValues: ResourceKind.allCases.map { ($0.entityName, data.count($0)) })
            }
            let pair = pairs[org.id]
            return OrgEntry(
                id: org.id, name: org.name, timeZone: org.timeZone, patAppID: org.patAppID, patSecret: org.patSecret,
                basicAuthorization: "Basic " + Data("\(org.patAppID):\(org.patSecret)".utf8).base64EncodedString(),
                oauthClientID: org.oauthClientID, oauthClientSecret: org.oauthClientSecret,
                accessToken: pair?.accessToken, refreshToken: pair?.refreshToken, expiresAt: pair?.expiresAt, counts: counts
            )
        }
    }

    private struct MutateResult: Codable {
        var org: String
        var changes: [MutationChange]
    }

    private func mutate(_ body: [UInt8]) -> SimResponse {
        guard let json = JSONValue.parse(body), let orgID = json["org"]?.stringValue else {
            return failure(400, "expected {\"org\": \"<id>\", \"ops\": [...]} or {\"org\": \"<id>\", \"random\": {\"count\": n}}")
        }
        do {
            if let random = json["random"] {
                let count = random["count"]?.intValue ?? 1
                let seed = random["seed"]?.intValue.map { UInt64(bitPattern: Int64($0)) }
                return encode(MutateResult(org: orgID, changes: try core.mutateRandomly(orgID: orgID, count: count, seed: seed)))
            }
            guard let ops = json["ops"]?.arrayValue else { return failure(400, "missing ops") }
            var requests: [MutationRequest] = []
            for op in ops {
                guard let opName = op["op"]?.stringValue, let operation = MutationRequest.Operation(rawValue: opName) else {
                    return failure(400, "op must be one of create, update, delete, merge")
                }
                guard let typeName = op["type"]?.stringValue, let kind = ResourceKind(entityName: typeName) else {
                    return failure(400, "unknown type \(op["type"]?.stringValue ?? "(none)")")
                }
                var attributes: [String: JSONValue] = [:]
                if case .object(let o)? = op["attributes"] { attributes = o }
                var relationships: [String: Int] = [:]
                if case .object(let o)? = op["relationships"] {
                    for (k, v) in o { if let n = v.stringValue.flatMap({ Int($0) }) { relationships[k] = n } }
                }
                if let into = op["into"]?.stringValue.flatMap({ Int($0) }) { relationships["into"] = into }
                let id = op["id"]?.stringValue.flatMap { Int($0) }
                requests.append(MutationRequest(operation: operation, kind: kind, id: id, attributes: attributes, relationships: relationships))
            }
            return encode(MutateResult(org: orgID, changes: try core.mutate(orgID: orgID, requests: requests)))
        } catch {
            return failure(error.detail.hasPrefix("no such org") ? 404 : 422, error.description)
        }
    }

    private func updateFaults(_ body: [UInt8]) -> SimResponse {
        guard case .object(let patch)? = JSONValue.parse(body) else { return failure(400, "expected a JSON object") }
        do {
            try core.faults.withLock { (state) throws(SettingsError) in
                try state.settings.apply(patch)
                if patch["force_429_count"] != nil { state.forced429Remaining = state.settings.force429Count }
            }
        } catch {
            return failure(400, error.description)
        }
        let now = core.clock.wallSeconds()
        for org in patch["expire_tokens"]?.arrayValue ?? [] {
            if let id = org.stringValue { core.oauth.withLock { $0.expireAll(orgID: id, now: now) } }
        }
        for org in patch["revoke_tokens"]?.arrayValue ?? [] {
            if let id = org.stringValue { core.oauth.withLock { $0.revokeAll(orgID: id) } }
        }
        if patch["reset_rate_limits"]?.boolValue == true || patch["rate_limit"] != nil {
            core.limiter.withLock { $0.reset() }
        }
        return encode(core.settings)
    }

    private func encode<T: Encodable>(_ value: T) -> SimResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return failure(500, "encoding failed") }
        return .json(200, Array(data))
    }

    private func failure(_ status: Int, _ detail: String) -> SimResponse {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"error\":")
        w.string(detail)
        w.byte("}")
        return .json(status, w.bytes)
    }
}

/// `GET /__sim/dataset/{org}`: every current record, keyed by manifest entity name and id, with its
/// attributes exactly as served and the relationships the manifest declares. Deleted records are absent.
enum DatasetExport {
    static let kinds: [ResourceKind] = PCOManifest.manifest.entities.compactMap { ResourceKind(entityName: $0.name) }

    static func render(_ store: OrgStore) -> [UInt8] {
        store.read { data, _ in
            var w = JSONWriter(capacity: 1 << 20)
            w.raw("{\"org\":")
            w.string(store.org.id)
            w.raw(",\"entities\":{")
            for (k, kind) in kinds.enumerated() {
                if k > 0 { w.byte(",") }
                w.key(kind.entityName)
                w.byte("{")
                let schema = kind.schema
                let relationships = PCOManifest.manifest.entity(named: kind.entityName)?.relationships ?? []
                let table = data.table(kind)
                for (i, id) in table.sortedIDs.enumerated() {
                    guard let record = table.records[id] else { continue }
                    if i > 0 { w.byte(",") }
                    w.key(String(id))
                    w.raw("{\"attributes\":{")
                    for (a, attribute) in schema.attributes.enumerated() {
                        if a > 0 { w.byte(",") }
                        w.key(attribute.name)
                        record.values[a].write(to: &w)
                    }
                    w.raw("},\"relationships\":{")
                    for (r, rel) in relationships.enumerated() {
                        if r > 0 { w.byte(",") }
                        w.key(rel.name)
                        if let index = schema.toOneIndex(rel.name) {
                            ref(&w, schema.toOne[index].typeName, record.toOne[index])
                        } else if kind == .person, rel.name == "households" {
                            w.byte("[")
                            for (h, household) in data.householdIDs(ofPerson: id).enumerated() {
                                if h > 0 { w.byte(",") }
                                ref(&w, "Household", household)
                            }
                            w.byte("]")
                        } else {
                            w.raw(rel.cardinality == .toMany ? "[]" : "null")
                        }
                    }
                    w.raw("}}")
                }
                w.byte("}")
            }
            w.raw("}}")
            return w.bytes
        }
    }

    private static func ref(_ w: inout JSONWriter, _ type: String, _ id: Int?) {
        guard let id else { return w.null() }
        w.raw("{\"type\":")
        w.string(type)
        w.raw(",\"id\":")
        w.string(String(id))
        w.byte("}")
    }
}
