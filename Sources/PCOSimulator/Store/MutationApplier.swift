/// Applies mutations to an organization's data the way PCO's own application would: cascades on
/// delete, moves on merge, and a fresh `updated_at` on every touched record. Pure: the timestamp is
/// passed in, randomness comes from a seeded generator.
struct MutationApplier: Sendable {
    var factory: RecordFactory
    var rng: SeededGenerator
    let orgID: String

    init(seed: UInt64, orgID: String, referenceTime: Int64, timeZone: String) {
        self.rng = SeededGenerator(seed: seed)
        self.factory = RecordFactory(rng: SeededGenerator(seed: seed &+ 1), referenceTime: referenceTime, orgTimeZone: timeZone)
        self.orgID = orgID
    }

    private struct Context {
        var now: Int64
        var changes: [MutationChange] = []
        var touched: [ResourceKind: Set<Int>] = [:]
    }

    /// Applies one request; returns every record that changed as a result.
    mutating func apply(_ request: MutationRequest, to data: inout OrgData, now: Int64) throws(MutationError) -> [MutationChange] {
        var ctx = Context(now: now)
        switch request.operation {
        case .create: try create(request, &data, &ctx)
        case .update: try update(request, &data, &ctx)
        case .delete:
            let id = try target(request, data)
            destroy(request.kind, id, &data, &ctx)
        case .merge: try merge(request, &data, &ctx)
        }
        return ctx.changes
    }

    /// A random plausible mutation: mostly updates of people and their contact details, some creates,
    /// deletes and merges (the mix that makes offset paging show duplicates and skips).
    mutating func randomRequest(_ data: OrgData) -> MutationRequest {
        let roll = rng.unit()
        let contact: ResourceKind = rng.pick([.email, .phoneNumber, .address])
        switch roll {
        case ..<0.30: return MutationRequest(operation: .update, kind: .person)
        case ..<0.50: return MutationRequest(operation: .update, kind: contact)
        case ..<0.60: return MutationRequest(operation: .create, kind: .person)
        case ..<0.70: return MutationRequest(operation: .create, kind: contact)
        case ..<0.76: return MutationRequest(operation: .delete, kind: contact)
        case ..<0.80: return MutationRequest(operation: .delete, kind: .person)
        case ..<0.83: return MutationRequest(operation: .merge, kind: .person)
        case ..<0.88: return MutationRequest(operation: .update, kind: .household)
        case ..<0.92: return MutationRequest(operation: .create, kind: .membership)
        case ..<0.95: return MutationRequest(operation: .delete, kind: .membership)
        default: return MutationRequest(operation: .update, kind: .group)
        }
    }

    // MARK: Operations

    private func failure(_ detail: String) -> MutationError {
        MutationError(org: orgID, detail: detail)
    }

    private mutating func randomID(_ kind: ResourceKind, _ data: OrgData) -> Int? {
        let ids = data.table(kind).sortedIDs
        guard !ids.isEmpty else { return nil }
        return ids[rng.int(in: 0 ... ids.count - 1)]
    }

    private mutating func target(_ request: MutationRequest, _ data: OrgData) throws(MutationError) -> Int {
        if let id = request.id {
            guard data.record(request.kind, id) != nil else { throw failure("no \(request.kind.entityName) with id \(id)") }
            return id
        }
        guard let id = randomID(request.kind, data) else { throw failure("no \(request.kind.entityName) records left") }
        return id
    }

    private func record(_ kind: ResourceKind, _ data: OrgData, _ id: Int) -> SimRecord {
        guard let r = data.record(kind, id) else { preconditionFailure("\(kind.entityName) \(id) vanished during a mutation") }
        return r
    }

    /// Stores a changed record with a fresh `updated_at` and reports it (once per mutation).
    private func save(_ kind: ResourceKind, _ r: SimRecord, _ data: inout OrgData, _ ctx: inout Context, action: MutationChange.Action) {
        var r = r
        let schema = kind.schema
        if let i = schema.attribute("updated_at") { r.values[i] = .dateTime(ctx.now) }
        if action == .created, let i = schema.attribute("created_at") { r.values[i] = .dateTime(ctx.now) }
        if action == .created { data.insert(kind, r) } else { data.update(kind, r) }
        guard ctx.touched[kind, default: []].insert(r.id).inserted else { return }
        let updatedAt = schema.attribute("updated_at").map { _ in UTCTime.formatDateTime(ctx.now) }
        ctx.changes.append(MutationChange(type: kind.entityName, id: String(r.id), action: action, updatedAt: updatedAt))
    }

    private func converted(_ value: JSONValue, _ type: AttributeType) -> AttributeValue? {
        if case .null = value { return .null }
        switch type {
        case .string: return value.stringValue.map { .string($0) }
        case .bool: return value.boolValue.map { .bool($0) }
        case .int: return value.intValue.map { .int($0) }
        case .double: return value.doubleValue.map { .double($0) }
        case .dateTime:
            guard let text = value.stringValue, case .instant(let t)? = UTCTime.parse(text) else { return nil }
            return .dateTime(t)
        case .date:
            guard let text = value.stringValue, case .localDate(let d)? = UTCTime.parse(text) else { return nil }
            return .date(d)
        case .json: return value.stringValue.map { .json($0) }
        }
    }

    private func applyAttributes(_ attributes: [String: JSONValue], to r: inout SimRecord, _ kind: ResourceKind) throws(MutationError) {
        let schema = kind.schema
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            guard let i = schema.attribute(name) else { throw failure("\(kind.entityName) has no attribute \(name)") }
            guard let v = converted(value, schema.attributes[i].type) else {
                throw failure("invalid value for \(kind.entityName).\(name)")
            }
            r.values[i] = v
        }
        if kind == .person, attributes["first_name"] != nil || attributes["last_name"] != nil, attributes["name"] == nil {
            let first = r[schema, attribute: "first_name"].filterText ?? ""
            let last = r[schema, attribute: "last_name"].filterText ?? ""
            r[schema, attribute: "name"] = .string("\(first) \(last)")
        }
    }

    private mutating func relationshipTarget(_ request: MutationRequest, _ name: String, _ kind: ResourceKind, _ data: OrgData) throws(MutationError) -> Int {
        if let id = request.relationships[name] {
            guard data.record(kind, id) != nil else { throw failure("no \(kind.entityName) with id \(id) for \(name)") }
            return id
        }
        guard let id = randomID(kind, data) else { throw failure("no \(kind.entityName) to attach a new \(request.kind.entityName) to") }
        return id
    }

    private mutating func create(_ request: MutationRequest, _ data: inout OrgData, _ ctx: inout Context) throws(MutationError) {
        let kind = request.kind
        let id = data.issueID(kind, gap: rng.int(in: 1 ... 12))
        let now = ctx.now
        var r: SimRecord
        switch kind {
        case .person:
            let (first, last) = factory.personName()
            let campus = randomID(.campus, data)
            r = factory.person(id: id, first: first, last: last, campusID: campus, created: now, updated: now)
        case .email, .phoneNumber, .address:
            let personID = try relationshipTarget(request, "person", .person, data)
            let person = record(.person, data, personID)
            let first = person[ResourceKind.person.schema, attribute: "first_name"].filterText ?? "new"
            let last = person[ResourceKind.person.schema, attribute: "last_name"].filterText ?? "person"
            let primary = data.childIDs(kind, via: "person", of: personID).isEmpty
            switch kind {
            case .email: r = factory.email(id: id, personID: personID, first: first, last: last, primary: primary, created: now, updated: now)
            case .phoneNumber: r = factory.phoneNumber(id: id, personID: personID, primary: primary, created: now, updated: now)
            default: r = factory.address(id: id, personID: personID, primary: primary, created: now, updated: now)
            }
        case .household:
            let personID = try relationshipTarget(request, "primary_contact", .person, data)
            let person = record(.person, data, personID)
            let name = person[ResourceKind.person.schema, attribute: "name"].filterText ?? ""
            let last = person[ResourceKind.person.schema, attribute: "last_name"].filterText ?? "New"
            r = factory.household(id: id, lastName: last, primaryContact: (personID, name), memberCount: 1, created: now, updated: now)
            try applyAttributes(request.attributes, to: &r, kind)
            save(kind, r, &data, &ctx, action: .created)
            let membership = factory.householdMembership(id: data.issueID(.householdMembership, gap: rng.int(in: 1 ... 12)), householdID: id, personID: personID, personName: name)
            save(.householdMembership, membership, &data, &ctx, action: .created)
            return
        case .householdMembership:
            let householdID = try relationshipTarget(request, "household", .household, data)
            let personID = try relationshipTarget(request, "person", .person, data)
            let name = record(.person, data, personID)[ResourceKind.person.schema, attribute: "name"].filterText ?? ""
            r = factory.householdMembership(id: id, householdID: householdID, personID: personID, personName: name)
            try applyAttributes(request.attributes, to: &r, kind)
            save(kind, r, &data, &ctx, action: .created)
            recount(.household, householdID, &data, &ctx)
            return
        case .campus:
            r = factory.campus(id: id, index: data.count(.campus), created: now, updated: now)
        case .groupType:
            r = factory.groupType(id: id, index: data.count(.groupType))
        case .group:
            r = factory.group(id: id, groupTypeID: randomID(.groupType, data), created: now)
        case .event:
            let groupID = try relationshipTarget(request, "group", .group, data)
            let groupName = record(.group, data, groupID)[ResourceKind.group.schema, attribute: "name"].filterText ?? "Event"
            r = factory.event(id: id, groupID: groupID, groupName: groupName, startsAt: now + 7 * 86_400)
        case .membership:
            let groupID = try relationshipTarget(request, "group", .group, data)
            var personID = try relationshipTarget(request, "person", .person, data)
            let members = Set(data.childIDs(.membership, via: "group", of: groupID).compactMap { data.record(.membership, $0)?.toOne[1] ?? nil })
            if members.contains(personID) {
                guard request.relationships["person"] == nil else { throw failure("person \(personID) is already in group \(groupID)") }
                guard let other = data.table(.person).sortedIDs.first(where: { !members.contains($0) }) else {
                    throw failure("every person is already in group \(groupID)")
                }
                personID = other
            }
            let person = record(.person, data, personID)
            let s = ResourceKind.person.schema
            r = factory.membership(id: id, groupID: groupID, personID: personID, first: person[s, attribute: "first_name"].filterText ?? "",
                                   last: person[s, attribute: "last_name"].filterText ?? "", joinedAt: now)
            try applyAttributes(request.attributes, to: &r, kind)
            save(kind, r, &data, &ctx, action: .created)
            recount(.group, groupID, &data, &ctx)
            return
        case .personMerger:
            throw failure("person mergers are created by merging people (op merge)")
        }
        try applyAttributes(request.attributes, to: &r, kind)
        save(kind, r, &data, &ctx, action: .created)
        if kind == .person, rng.chance(0.8) {
            // New people usually come with an email address.
            let s = ResourceKind.person.schema
            let email = factory.email(id: data.issueID(.email, gap: rng.int(in: 1 ... 12)), personID: id,
                                      first: r[s, attribute: "first_name"].filterText ?? "", last: r[s, attribute: "last_name"].filterText ?? "",
                                      primary: true, created: now, updated: now)
            save(.email, email, &data, &ctx, action: .created)
        }
    }

    private mutating func update(_ request: MutationRequest, _ data: inout OrgData, _ ctx: inout Context) throws(MutationError) {
        let kind = request.kind
        guard kind != .personMerger else { throw failure("person mergers cannot be updated") }
        let id = try target(request, data)
        var r = record(kind, data, id)
        if request.attributes.isEmpty {
            r = factory.edit(kind, r)
        } else {
            try applyAttributes(request.attributes, to: &r, kind)
        }
        save(kind, r, &data, &ctx, action: .updated)
    }

    /// Keeps a household's `member_count` or a group's `memberships_count` right after a change.
    private func recount(_ kind: ResourceKind, _ id: Int, _ data: inout OrgData, _ ctx: inout Context) {
        guard var r = data.record(kind, id) else { return }
        let s = kind.schema
        if kind == .household {
            let members = data.childIDs(.householdMembership, via: "household", of: id)
            r[s, attribute: "member_count"] = .int(members.count)
            if let contact = r.toOne[0], !data.personIDs(ofHousehold: id).contains(contact) {
                let next = data.personIDs(ofHousehold: id).first
                r.toOne[0] = next
                r[s, attribute: "primary_contact_id"] = next.map { .string(String($0)) } ?? .null
                r[s, attribute: "primary_contact_name"] = next.flatMap { data.record(.person, $0)?[ResourceKind.person.schema, attribute: "name"] } ?? .null
            }
        } else if kind == .group {
            r[s, attribute: "memberships_count"] = .int(data.childIDs(.membership, via: "group", of: id).count)
        }
        save(kind, r, &data, &ctx, action: .updated)
    }

    /// Deletes a record and what PCO deletes with it.
    private mutating func destroy(_ kind: ResourceKind, _ id: Int, _ data: inout OrgData, _ ctx: inout Context) {
        guard data.record(kind, id) != nil else { return }
        switch kind {
        case .person:
            for child in [ResourceKind.email, .phoneNumber, .address] {
                for childID in data.childIDs(child, via: "person", of: id) { destroy(child, childID, &data, &ctx) }
            }
            for hm in data.childIDs(.householdMembership, via: "person", of: id) { destroy(.householdMembership, hm, &data, &ctx) }
            for m in data.childIDs(.membership, via: "person", of: id) { destroy(.membership, m, &data, &ctx) }
        case .household:
            for hm in data.childIDs(.householdMembership, via: "household", of: id) {
                data.remove(.householdMembership, hm)
                ctx.changes.append(MutationChange(type: ResourceKind.householdMembership.entityName, id: String(hm), action: .destroyed))
            }
        case .group:
            for m in data.childIDs(.membership, via: "group", of: id) {
                data.remove(.membership, m)
                ctx.changes.append(MutationChange(type: ResourceKind.membership.entityName, id: String(m), action: .destroyed))
            }
            for e in data.childIDs(.event, via: "group", of: id) {
                data.remove(.event, e)
                ctx.changes.append(MutationChange(type: ResourceKind.event.entityName, id: String(e), action: .destroyed))
            }
        case .campus:
            for p in data.childIDs(.person, via: "primary_campus", of: id) {
                var r = record(.person, data, p)
                r.toOne[0] = nil
                save(.person, r, &data, &ctx, action: .updated)
            }
        case .groupType:
            for g in data.childIDs(.group, via: "group_type", of: id) {
                var r = record(.group, data, g)
                r.toOne[0] = nil
                save(.group, r, &data, &ctx, action: .updated)
            }
        default:
            break
        }
        let removed = data.remove(kind, id)
        ctx.changes.append(MutationChange(type: kind.entityName, id: String(id), action: .destroyed))
        if kind == .householdMembership, let household = removed?.toOne[0] ?? nil {
            if data.childIDs(.householdMembership, via: "household", of: household).isEmpty {
                destroy(.household, household, &data, &ctx)
            } else {
                recount(.household, household, &data, &ctx)
            }
        }
        if kind == .membership, let group = removed?.toOne[0] ?? nil {
            recount(.group, group, &data, &ctx)
        }
    }

    /// PCO's merge: the removed person's details move to the kept one, the removed person is
    /// destroyed and a PersonMerger records it.
    private mutating func merge(_ request: MutationRequest, _ data: inout OrgData, _ ctx: inout Context) throws(MutationError) {
        guard request.kind == .person else { throw failure("only people can be merged") }
        guard data.count(.person) >= 2 else { throw failure("merging needs two people") }
        let remove = try target(request, data)
        var keep: Int
        if let into = request.relationships["into"] ?? request.relationships["person_to_keep"] {
            guard data.record(.person, into) != nil, into != remove else { throw failure("invalid person to keep \(into)") }
            keep = into
        } else {
            repeat { keep = randomID(.person, data)! } while keep == remove
        }
        for child in [ResourceKind.email, .phoneNumber, .address] {
            for childID in data.childIDs(child, via: "person", of: remove) {
                var r = record(child, data, childID)
                r.toOne[0] = keep
                if let p = child.schema.attribute("primary") { r.values[p] = .bool(false) }
                save(child, r, &data, &ctx, action: .updated)
            }
        }
        let keptHouseholds = Set(data.householdIDs(ofPerson: keep))
        for hm in data.childIDs(.householdMembership, via: "person", of: remove) {
            let r = record(.householdMembership, data, hm)
            if let household = r.toOne[0], keptHouseholds.contains(household) {
                destroy(.householdMembership, hm, &data, &ctx)
            } else {
                var moved = r
                moved.toOne[1] = keep
                save(.householdMembership, moved, &data, &ctx, action: .updated)
                if let household = r.toOne[0] { recount(.household, household, &data, &ctx) }
            }
        }
        let keptGroups = Set(data.childIDs(.membership, via: "person", of: keep).compactMap { data.record(.membership, $0)?.toOne[0] ?? nil })
        for m in data.childIDs(.membership, via: "person", of: remove) {
            var r = record(.membership, data, m)
            if let group = r.toOne[0], keptGroups.contains(group) {
                destroy(.membership, m, &data, &ctx)
            } else {
                r.toOne[1] = keep
                save(.membership, r, &data, &ctx, action: .updated)
            }
        }
        destroy(.person, remove, &data, &ctx)
        save(.person, record(.person, data, keep), &data, &ctx, action: .updated)
        let merger = factory.personMerger(id: data.issueID(.personMerger, gap: rng.int(in: 1 ... 12)), keep: keep, remove: remove, created: ctx.now)
        save(.personMerger, merger, &data, &ctx, action: .created)
    }
}
