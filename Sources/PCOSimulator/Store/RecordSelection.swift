/// Evaluates a ``ListQuery`` against an organization's data: candidates, `where` filters, `order`.
/// Pure: it reads ``OrgData`` and returns ids.
struct RecordSelection {
    var data: OrgData
    var kind: ResourceKind

    /// All ids matching the scope and filters, in the requested order (id ascending by default).
    /// `wholeTable` supplies (and caches) what a query selects of the whole table, for queries
    /// whose filters read only this kind; see ``OrgStore``.
    func ids(scope: RecordScope, query: ListQuery, wholeTable: (ListQuery) -> [Int]) -> [Int] {
        if scope == .all, !query.filters.contains(where: \.readsOtherKinds) { return wholeTable(query) }
        let candidates: [Int]
        switch scope {
        case .all: candidates = data.table(kind).sortedIDs
        case .children(let via, _, let parentID): candidates = data.childIDs(kind, via: via, of: parentID)
        case .householdsOfPerson(let personID): candidates = data.householdIDs(ofPerson: personID)
        case .peopleOfHousehold(let householdID): candidates = data.personIDs(ofHousehold: householdID)
        }
        return select(candidates, query: query)
    }

    /// The ids of `candidates` that match the query's filters, in its order (uncached).
    func select(_ candidates: [Int], query: ListQuery) -> [Int] {
        var ids = candidates
        if !query.filters.isEmpty {
            let table = data.table(kind).records
            ids = ids.filter { id in
                guard let record = table[id] else { return false }
                return query.filters.allSatisfy { matches(record, $0) }
            }
        }
        if let order = query.order {
            ids = sort(ids, by: order)
        }
        return ids
    }

    /// Sorts ids by one attribute; ties by id ascending so paging is stable.
    ///
    /// Keys are computed once per record (strings lower-cased up front), because a whole-table sort
    /// runs again after every mutation of the kind and must stay cheap for 100,000 people.
    func sort(_ ids: [Int], by order: ListQuery.Order) -> [Int] {
        let table = data.table(kind).records
        var keyed: [(id: Int, key: AttributeValue)] = []
        keyed.reserveCapacity(ids.count)
        for id in ids {
            var value = table[id]?.values[order.attributeIndex] ?? .null
            if case .string(let s) = value { value = .string(s.lowercased()) }
            keyed.append((id, value))
        }
        keyed.sort { a, b in
            if AttributeValue.precedes(a.key, b.key, caseFolded: true) { return !order.descending }
            if AttributeValue.precedes(b.key, a.key, caseFolded: true) { return order.descending }
            return a.id < b.id
        }
        return keyed.map(\.id)
    }

    func matches(_ record: SimRecord, _ filter: ListQuery.Filter) -> Bool {
        switch filter.source {
        case .id:
            guard case .int(let n) = filter.value else { return false }
            return record.id == n
        case .relationship(let index):
            guard case .int(let n) = filter.value else { return false }
            return record.toOne[index] == n
        case .archiveStatus:
            guard case .text(let mode) = filter.value, let i = kind.schema.attribute("archived_at") else { return false }
            switch mode {
            case "only": return !record.values[i].isNull
            case "not_archived": return record.values[i].isNull
            default: return true
            }
        case .search(let emails, let phones, let phonesOnly):
            guard case .text(let needle) = filter.value else { return false }
            return search(record, needle: needle, emails: emails, phones: phones, phonesOnly: phonesOnly)
        case .attribute(let index, _):
            return compare(record.values[index], filter.comparison, filter.value)
        }
    }

    private func compare(_ value: AttributeValue, _ comparison: ListQuery.Comparison, _ target: ListQuery.FilterValue) -> Bool {
        func ordered<T: Comparable>(_ a: T, _ b: T) -> Bool {
            switch comparison {
            case .equal: return a == b
            case .gt: return a > b
            case .gte: return a >= b
            case .lt: return a < b
            case .lte: return a <= b
            }
        }
        switch (value, target) {
        case (.null, _): return false
        case (.string(let s), .text(let t)): return s.lowercased() == t.lowercased()
        case (.bool(let b), .bool(let t)): return b == t
        case (.int(let n), .int(let t)): return ordered(n, t)
        case (.double(let d), .int(let t)): return ordered(d, Double(t))
        case (.dateTime(let s), .instant(let t)): return ordered(s, t)
        case (.dateTime(let s), .localDay(let start, let end)):
            switch comparison {
            case .equal: return s >= start && s < end
            case .gt: return s >= end
            case .gte: return s >= start
            case .lt: return s < start
            case .lte: return s < end
            }
        case (.date(let d), .days(let t)): return ordered(d, t)
        default: return false
        }
    }

    private func search(_ record: SimRecord, needle: String, emails: Bool, phones: Bool, phonesOnly: Bool) -> Bool {
        let lowered = needle.lowercased()
        if !phonesOnly, let i = kind.schema.attribute("name"),
           case .string(let name) = record.values[i], name.lowercased().contains(lowered) {
            return true
        }
        guard kind == .person else { return false }
        if emails && !phonesOnly {
            let addressIndex = ResourceKind.email.schema.attribute("address")!
            for id in data.childIDs(.email, via: "person", of: record.id) {
                if case .string(let a)? = data.record(.email, id)?.values[addressIndex], a.lowercased().contains(lowered) {
                    return true
                }
            }
        }
        if phones {
            let digits = needle.filter(\.isNumber)
            guard !digits.isEmpty else { return false }
            let e164 = ResourceKind.phoneNumber.schema.attribute("e164")!
            for id in data.childIDs(.phoneNumber, via: "person", of: record.id) {
                if case .string(let n)? = data.record(.phoneNumber, id)?.values[e164], n.contains(digits) {
                    return true
                }
            }
        }
        return false
    }
}
