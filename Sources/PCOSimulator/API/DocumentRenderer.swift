/// Renders JSON:API documents exactly in PCO's shape (see the recordings in `shared/fixtures/pco-recorded`).
///
/// Pure: reads ``OrgData`` and writes bytes. The fast path copies each record's pre-rendered
/// `type/id/attributes` prefix and only writes relationships and links per request.
struct DocumentRenderer {
    var data: OrgData
    var org: SimulatedOrg
    /// `http://127.0.0.1:PORT`: links point back at the simulator so clients can follow them.
    var baseURL: String
    var version: APIVersion

    /// A resource to put into `included`, once.
    private struct IncludedRef: Hashable {
        var kind: ResourceKind?  // nil: the Organization
        var id: Int
        var typeName: String
    }

    private struct IncludedCollector {
        var seen: Set<IncludedRef> = []
        var order: [IncludedRef] = []

        mutating func add(_ ref: IncludedRef) {
            if seen.insert(ref).inserted { order.append(ref) }
        }
    }

    // MARK: Paths

    func selfPath(_ kind: ResourceKind, _ record: SimRecord) -> String {
        switch kind {
        case .householdMembership:
            return "/people/v2/households/\(record.toOne[0] ?? 0)/household_memberships/\(record.id)"
        case .membership:
            return "/groups/v2/groups/\(record.toOne[0] ?? 0)/memberships/\(record.id)"
        default:
            let s = kind.schema
            return "/\(s.app)/v2/\(s.segment)/\(record.id)"
        }
    }

    // MARK: Documents

    /// A collection page. `ids` is every match in order; the page is cut here so `meta` can count them.
    func collection(
        kind: ResourceKind, scope: RecordScope, ids: [Int], query: ListQuery, path: String
    ) -> [UInt8] {
        let schema = kind.schema
        let total = ids.count
        let start = min(query.offset, total)
        let end = min(total, start + query.perPage)
        let page = ids[start ..< end]
        let hasNext = end < total
        let nextOffset = query.offset + query.perPage
        let hasPrev = query.offset > 0
        let prevOffset = max(0, query.offset - query.perPage)

        var w = JSONWriter(capacity: 2048 + page.count * 1400)
        w.raw("{\"links\":{\"self\":")
        w.string(baseURL + path + QueryString.echo(query.echo, offset: nil))
        if hasPrev {
            w.raw(",\"prev\":")
            w.string(baseURL + path + QueryString.echo(query.echo, offset: prevOffset))
        }
        if hasNext {
            w.raw(",\"next\":")
            w.string(baseURL + path + QueryString.echo(query.echo, offset: nextOffset))
        }
        w.raw("},\"data\":[")
        var included = IncludedCollector()
        let table = data.table(kind).records
        var first = true
        for id in page {
            guard let record = table[id] else { continue }
            if !first { w.byte(",") }
            first = false
            writeResource(&w, kind, record, typeName: schema.typeName, query: query, single: false, included: &included)
        }
        w.raw("],\"included\":")
        writeIncluded(&w, included, query: query)
        w.raw(",\"meta\":{\"total_count\":")
        w.int(total)
        w.raw(",\"count\":")
        w.int(page.count)
        if hasNext {
            w.raw(",\"next\":{\"offset\":")
            w.int(nextOffset)
            w.byte("}")
        }
        if hasPrev {
            w.raw(",\"prev\":{\"offset\":")
            w.int(prevOffset)
            w.byte("}")
        }
        w.raw(",\"can_order_by\":")
        w.stringArray(schema.canOrderBy)
        w.raw(",\"can_query_by\":")
        w.stringArray(schema.canQueryBy)
        w.raw(",\"can_include\":")
        w.stringArray(schema.canInclude)
        if !schema.canFilter.isEmpty {
            w.raw(",\"can_filter\":")
            w.stringArray(schema.canFilter)
        }
        w.raw(",")
        writeParent(&w, scope.parent)
        w.raw("}}")
        return w.bytes
    }

    /// A single-resource GET: `data` is an object.
    func single(kind: ResourceKind, record: SimRecord, query: ListQuery) -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        var included = IncludedCollector()
        w.raw("{\"data\":")
        writeResource(&w, kind, record, typeName: kind.schema.typeName, query: query, single: true, included: &included)
        w.raw(",\"included\":")
        writeIncluded(&w, included, query: query)
        w.raw(",\"meta\":{\"can_include\":")
        w.stringArray(kind.schema.canInclude)
        w.raw(",")
        writeParent(&w, nil)
        w.raw("}}")
        return w.bytes
    }

    /// `/people/v2` and `/groups/v2`: the organization itself.
    func organizationDocument(app: String) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.raw("{\"data\":")
        writeOrganization(&w, selfURL: baseURL + "/\(app)/v2")
        w.raw(",\"included\":[],\"meta\":{}}")
        return w.bytes
    }

    /// The `payload` of a webhook delivery: the resource as a single-resource document, with PCO's
    /// `event_time` and `idempotency_token` in `meta`; destroyed records carry no attributes.
    func webhookPayload(kind: ResourceKind, record: SimRecord?, id: Int, destroyed: Bool, eventTime: Int64, idempotencyToken: String) -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        if destroyed || record == nil {
            w.raw("{\"data\":{\"type\":")
            w.string(kind.schema.typeName)
            w.raw(",\"id\":")
            w.string(String(id))
            w.raw("},\"meta\":{")
            writeParent(&w, nil)
            w.raw("}}")
            return w.bytes
        }
        var included = IncludedCollector()
        w.raw("{\"data\":")
        writeResource(&w, kind, record!, typeName: kind.schema.typeName, query: ListQuery(), single: false, included: &included)
        w.raw(",\"included\":[],\"meta\":{\"can_include\":")
        w.stringArray(kind.schema.canInclude)
        w.raw(",")
        writeParent(&w, nil)
        w.raw(",\"event_time\":")
        w.string(UTCTime.formatDateTime(eventTime))
        w.raw(",\"idempotency_token\":")
        w.string(idempotencyToken)
        w.raw("}}")
        return w.bytes
    }

    // MARK: Pieces

    private func writeParent(_ w: inout JSONWriter, _ parent: (kind: ResourceKind, id: Int)?) {
        w.raw("\"parent\":{\"id\":")
        if let parent {
            w.string(String(parent.id))
            w.raw(",\"type\":")
            w.string(parent.kind.schema.typeName)
        } else {
            w.string(org.id)
            w.raw(",\"type\":\"Organization\"")
        }
        w.byte("}")
    }

    private func writeOrganization(_ w: inout JSONWriter, selfURL: String) {
        w.raw("{\"type\":\"Organization\",\"id\":")
        w.string(org.id)
        w.raw(",\"attributes\":{\"country_code\":null,\"date_format\":\"%m/%d/%Y\",\"name\":")
        w.string(org.name)
        w.raw(",\"time_zone\":")
        w.string(org.timeZone)
        w.raw("},\"links\":{\"self\":")
        w.string(selfURL)
        w.raw("}}")
    }

    /// `{"type","id","attributes"` — from the cache when the client wants the current full shape.
    private func writeHead(_ w: inout JSONWriter, _ kind: ResourceKind, _ record: SimRecord, typeName: String, fields: Set<String>?) {
        let schema = kind.schema
        if version == .current, fields == nil, typeName == schema.typeName, !record.renderedPrefix.isEmpty {
            w.raw(record.renderedPrefix)
            return
        }
        w.raw("{\"type\":")
        w.string(typeName)
        w.raw(",\"id\":\"")
        w.int(record.id)
        w.raw("\",\"attributes\":{")
        var pairs: [(String, AttributeValue)] = []
        for (i, attribute) in schema.attributes.enumerated() {
            if version == .legacy2018 {
                if schema.legacyHidden.contains(attribute.name) { continue }
                if kind == .address {
                    // 2018-08-01 Address: one `street`, no country fields.
                    if attribute.name == "country_code" || attribute.name == "country_name" || attribute.name == "street_line_2" { continue }
                    if attribute.name == "street_line_1" {
                        var street = record.values[i].filterText ?? ""
                        if let line2 = record[schema, attribute: "street_line_2"].filterText { street += "\n" + line2 }
                        pairs.append(("street", .string(street)))
                        continue
                    }
                }
            }
            pairs.append((attribute.name, record.values[i]))
        }
        pairs.sort { $0.0 < $1.0 }
        var first = true
        for (name, value) in pairs where fields?.contains(name) ?? true {
            if !first { w.byte(",") }
            first = false
            w.key(name)
            value.write(to: &w)
        }
        w.byte("}")
    }

    private func writeRelationshipData(_ w: inout JSONWriter, typeName: String, id: Int?) {
        guard let id else { return w.null() }
        w.raw("{\"type\":")
        w.string(typeName)
        w.raw(",\"id\":\"")
        w.int(id)
        w.raw("\"}")
    }

    private func writeResource(
        _ w: inout JSONWriter, _ kind: ResourceKind, _ record: SimRecord, typeName: String,
        query: ListQuery, single: Bool, included: inout IncludedCollector
    ) {
        let schema = kind.schema
        writeHead(&w, kind, record, typeName: typeName, fields: query.fields[typeName])
        let selfURL = baseURL + selfPath(kind, record)
        w.raw(",\"relationships\":{")
        var first = true
        func open(_ name: String, related: Bool) {
            if !first { w.byte(",") }
            first = false
            w.key(name)
            w.byte("{")
            if related {
                w.raw("\"links\":{\"related\":")
                w.string(selfURL + "/" + name)
                w.raw("},")
            }
            w.raw("\"data\":")
        }
        // Manifest-declared to-one relationships always carry data: the engine links records with them.
        for (index, rel) in schema.toOne.enumerated() {
            let isIncluded = query.includes.contains(rel.name)
            open(rel.name, related: isIncluded)
            let target = record.toOne[index]
            let exists = target.map { data.record(rel.target, $0) != nil } ?? false
            writeRelationshipData(&w, typeName: rel.typeName, id: target)
            w.byte("}")
            if isIncluded, exists, let target {
                included.add(IncludedRef(kind: rel.target, id: target, typeName: rel.typeName))
            }
        }
        for name in query.includes {
            guard let source = schema.includeSources[name] else { continue }
            switch source {
            case .toOne:
                continue  // written above
            case .children(let child, let via):
                open(name, related: true)
                writeRefs(&w, child, data.childIDs(child, via: via, of: record.id), &included)
            case .householdsOfPerson:
                open(name, related: true)
                writeRefs(&w, .household, data.householdIDs(ofPerson: record.id), &included)
            case .peopleOfHousehold:
                open(name, related: true)
                writeRefs(&w, .person, data.personIDs(ofHousehold: record.id), &included)
            case .organization:
                open(name, related: true)
                w.raw("{\"type\":\"Organization\",\"id\":")
                w.string(org.id)
                w.byte("}")
                included.add(IncludedRef(kind: nil, id: 0, typeName: "Organization"))
            case .emptyToMany:
                open(name, related: true)
                w.raw("[]")
            case .emptyToOne:
                open(name, related: true)
                w.null()
            }
            w.byte("}")
        }
        w.raw("},\"links\":{")
        if single, !schema.singleResourceLinks.isEmpty {
            for link in schema.singleResourceLinks {
                w.key(link.name)
                if link.isNull { w.null() } else { w.string(selfURL + "/" + link.name) }
                w.byte(",")
            }
        }
        w.raw("\"self\":")
        w.string(selfURL)
        w.raw("}}")
    }

    private func writeRefs(_ w: inout JSONWriter, _ kind: ResourceKind, _ ids: [Int], _ included: inout IncludedCollector) {
        let typeName = kind.schema.typeName
        w.byte("[")
        for (i, id) in ids.enumerated() {
            if i > 0 { w.byte(",") }
            writeRelationshipData(&w, typeName: typeName, id: id)
            included.add(IncludedRef(kind: kind, id: id, typeName: typeName))
        }
        w.byte("]")
    }

    private func writeIncluded(_ w: inout JSONWriter, _ included: IncludedCollector, query: ListQuery) {
        w.byte("[")
        var first = true
        for ref in included.order {
            guard let kind = ref.kind else {
                if !first { w.byte(",") }
                first = false
                writeOrganization(&w, selfURL: baseURL + "/people/v2")
                continue
            }
            guard let record = data.record(kind, ref.id) else { continue }
            if !first { w.byte(",") }
            first = false
            writeIncludedResource(&w, kind, record, typeName: ref.typeName, fields: query.fields[ref.typeName])
        }
        w.byte("]")
    }

    /// Included resources carry their to-one relationship data and `links.self` only (as recorded).
    private func writeIncludedResource(_ w: inout JSONWriter, _ kind: ResourceKind, _ record: SimRecord, typeName: String, fields: Set<String>?) {
        let schema = kind.schema
        writeHead(&w, kind, record, typeName: typeName, fields: fields)
        w.raw(",\"relationships\":{")
        for (index, rel) in schema.toOne.enumerated() {
            if index > 0 { w.byte(",") }
            w.key(rel.name)
            w.raw("{\"data\":")
            writeRelationshipData(&w, typeName: rel.typeName, id: record.toOne[index])
            w.byte("}")
        }
        w.raw("},\"links\":{\"self\":")
        w.string(baseURL + selfPath(kind, record))
        w.raw("}}")
    }
}
