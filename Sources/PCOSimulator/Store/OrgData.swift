/// All records of one simulated organization, with the indexes paging and includes need.
///
/// A value type with no locking and no clock: ``OrgStore`` owns one behind a reader-writer lock, and
/// the dataset generator, the mutation logic and the tests work on it directly.
struct OrgData: Sendable {
    /// Records of one kind, by id, plus the ids in ascending order (PCO's default order).
    struct Table: Sendable {
        var records: [Int: SimRecord] = [:]
        var sortedIDs: [Int] = []
        /// The largest id ever issued for this kind, so new ids keep increasing after deletes.
        var highestID: Int = 0
    }

    /// Child index key: records of `kind` grouped by the target of their to-one relationship `relationship`.
    struct ChildKey: Hashable, Sendable {
        var kind: ResourceKind
        var relationship: Int
    }

    private(set) var tables: [Table] = Array(repeating: Table(), count: ResourceKind.allCases.count)
    /// target id -> ascending ids of the records pointing at it.
    private(set) var children: [ChildKey: [Int: [Int]]] = [:]
    /// Bumped on every change of a kind, so cached orderings can be checked for staleness.
    private(set) var versions: [Int] = Array(repeating: 0, count: ResourceKind.allCases.count)

    func table(_ kind: ResourceKind) -> Table { tables[kind.rawValue] }

    func record(_ kind: ResourceKind, _ id: Int) -> SimRecord? {
        tables[kind.rawValue].records[id]
    }

    func count(_ kind: ResourceKind) -> Int { tables[kind.rawValue].sortedIDs.count }

    /// Ids of `kind` records whose relationship `name` points at `parentID`, ascending.
    func childIDs(_ kind: ResourceKind, via name: String, of parentID: Int) -> [Int] {
        guard let rel = kind.schema.toOneIndex(name) else { return [] }
        return children[ChildKey(kind: kind, relationship: rel)]?[parentID] ?? []
    }

    /// The households a person belongs to, through household memberships.
    func householdIDs(ofPerson personID: Int) -> [Int] {
        let memberships = childIDs(.householdMembership, via: "person", of: personID)
        let householdRel = 0
        return memberships.compactMap { record(.householdMembership, $0)?.toOne[householdRel] ?? nil }.sorted()
    }

    /// The people of a household, through its household memberships.
    func personIDs(ofHousehold householdID: Int) -> [Int] {
        let memberships = childIDs(.householdMembership, via: "household", of: householdID)
        let personRel = 1
        return memberships.compactMap { record(.householdMembership, $0)?.toOne[personRel] ?? nil }.sorted()
    }

    /// A fresh id for a new record: above every id ever issued, with a small random gap (PCO ids are sparse).
    mutating func issueID(_ kind: ResourceKind, gap: Int) -> Int {
        let id = tables[kind.rawValue].highestID + max(1, gap)
        tables[kind.rawValue].highestID = id
        return id
    }

    /// Adds a record; its id must be new for the kind.
    mutating func insert(_ kind: ResourceKind, _ record: SimRecord) {
        var record = record
        record.refreshRendering(kind.schema)
        let k = kind.rawValue
        precondition(tables[k].records[record.id] == nil, "\(kind.entityName) \(record.id) already exists")
        tables[k].records[record.id] = record
        if let last = tables[k].sortedIDs.last, last > record.id {
            tables[k].sortedIDs.insert(record.id, at: insertionIndex(tables[k].sortedIDs, record.id))
        } else {
            tables[k].sortedIDs.append(record.id)
        }
        tables[k].highestID = max(tables[k].highestID, record.id)
        for (rel, target) in record.toOne.enumerated() {
            if let target { addChild(kind, rel, target, record.id) }
        }
        versions[k] &+= 1
    }

    /// Replaces a record's values and relationships, keeping the child indexes right.
    mutating func update(_ kind: ResourceKind, _ record: SimRecord) {
        let k = kind.rawValue
        guard let old = tables[k].records[record.id] else {
            preconditionFailure("update of missing \(kind.entityName) \(record.id)")
        }
        var record = record
        record.refreshRendering(kind.schema)
        for rel in record.toOne.indices where old.toOne[rel] != record.toOne[rel] {
            if let before = old.toOne[rel] { removeChild(kind, rel, before, record.id) }
            if let after = record.toOne[rel] { addChild(kind, rel, after, record.id) }
        }
        tables[k].records[record.id] = record
        versions[k] &+= 1
    }

    @discardableResult
    mutating func remove(_ kind: ResourceKind, _ id: Int) -> SimRecord? {
        let k = kind.rawValue
        guard let old = tables[k].records.removeValue(forKey: id) else { return nil }
        let index = insertionIndex(tables[k].sortedIDs, id)
        if index < tables[k].sortedIDs.count, tables[k].sortedIDs[index] == id {
            tables[k].sortedIDs.remove(at: index)
        }
        for (rel, target) in old.toOne.enumerated() {
            if let target { removeChild(kind, rel, target, id) }
        }
        versions[k] &+= 1
        return old
    }

    private mutating func addChild(_ kind: ResourceKind, _ rel: Int, _ target: Int, _ id: Int) {
        let key = ChildKey(kind: kind, relationship: rel)
        var list = children[key]?[target] ?? []
        if let last = list.last, last > id {
            list.insert(id, at: insertionIndex(list, id))
        } else {
            list.append(id)
        }
        children[key, default: [:]][target] = list
    }

    private mutating func removeChild(_ kind: ResourceKind, _ rel: Int, _ target: Int, _ id: Int) {
        let key = ChildKey(kind: kind, relationship: rel)
        guard var list = children[key]?[target] else { return }
        list.removeAll { $0 == id }
        children[key]?[target] = list.isEmpty ? nil : list
    }

    private func insertionIndex(_ sorted: [Int], _ value: Int) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The largest `updated_at` (or `created_at`) of any record: the floor for new timestamps.
    func latestTimestamp() -> Int64 {
        var latest: Int64 = 0
        for kind in ResourceKind.allCases {
            let schema = kind.schema
            for name in ["updated_at", "created_at"] {
                guard let i = schema.attribute(name) else { continue }
                for record in tables[kind.rawValue].records.values {
                    if case .dateTime(let t) = record.values[i], t > latest { latest = t }
                }
            }
        }
        return latest
    }
}
