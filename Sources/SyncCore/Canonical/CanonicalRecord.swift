/// Identifies a record at its source: (external type, external id) within an org and adapter.
/// The type is the entity's primary type name, so `PrimaryCampus/7` and `Campus/7` are one key.
public struct ExternalKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: CanonicalKind
    public var externalType: String
    public var externalID: String

    public init(kind: CanonicalKind, externalType: String, externalID: String) {
        self.kind = kind
        self.externalType = externalType
        self.externalID = externalID
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.externalType, lhs.externalID) < (rhs.externalType, rhs.externalID)
    }

    public var description: String { "\(externalType)/\(externalID)" }
}

/// A typed column's value in text form; the store casts it to the column's type.
/// References name their target by external key and are resolved to internal ids by the store.
public enum CanonicalValue: Sendable, Hashable {
    case null
    case text(String)
    case reference(ExternalKey)
}

/// The complete set of targets a record points to through one relationship. Targets no longer
/// listed lose their edge, so an assertion must only be made when the source listed the relationship.
public struct RelationshipAssertion: Sendable, Hashable {
    public var relationship: String
    public var targets: [ExternalKey]

    public init(relationship: String, targets: [ExternalKey]) {
        self.relationship = relationship
        self.targets = targets
    }
}

/// One record of the canonical model, as an adapter produced it from a source document.
public struct CanonicalRecord: Sendable, Hashable {
    public var key: ExternalKey
    /// Values of the kind's typed columns, by column name; a missing column is stored as NULL.
    public var values: [String: CanonicalValue]
    /// JSON object text.
    public var customFields: String
    /// The source document of the record as JSON text, unknown attributes included.
    public var raw: String
    /// ISO-8601 UTC timestamps from the source, when it has them.
    public var sourceCreatedAt: String?
    public var sourceUpdatedAt: String?
    public var relationships: [RelationshipAssertion]

    public init(
        key: ExternalKey, values: [String: CanonicalValue], customFields: String = "{}", raw: String,
        sourceCreatedAt: String? = nil, sourceUpdatedAt: String? = nil, relationships: [RelationshipAssertion] = []
    ) {
        self.key = key
        self.values = values
        self.customFields = customFields
        self.raw = raw
        self.sourceCreatedAt = sourceCreatedAt
        self.sourceUpdatedAt = sourceUpdatedAt
        self.relationships = relationships
    }

    public var kind: CanonicalKind { key.kind }

    /// Every external key this record refers to (typed references and relationship targets).
    public var referencedKeys: [ExternalKey] {
        var keys: [ExternalKey] = []
        for value in values.values {
            if case .reference(let target) = value { keys.append(target) }
        }
        for assertion in relationships { keys.append(contentsOf: assertion.targets) }
        return keys
    }
}

/// The canonical records of one source page, stored together in one transaction.
public struct CanonicalBatch: Sendable, Hashable {
    public var orgID: String
    public var adapter: String
    public private(set) var records: [CanonicalRecord]
    private var positions: [ExternalKey: Int] = [:]

    public init(orgID: String, adapter: String, records: [CanonicalRecord] = []) {
        self.orgID = orgID
        self.adapter = adapter
        self.records = []
        for record in records { add(record) }
    }

    /// Adds a record; a second record with the same key replaces the first (the last one seen wins,
    /// as PCO's maintainers advise for duplicates across offset pages).
    public mutating func add(_ record: CanonicalRecord) {
        if let index = positions[record.key] {
            records[index] = record
        } else {
            positions[record.key] = records.count
            records.append(record)
        }
    }

    /// Adds another page's records of the same org and adapter, as if the two pages were stored one
    /// after the other: a record of both keeps the copy the store would have kept, the later one
    /// unless the earlier one is newer (rows never go backwards), and the kept copy's relationships
    /// come with it, as its edges would replace the other's. Records keep the order they first
    /// appeared in.
    ///
    /// Returns false, changing nothing, when a record of both pages carries two `source_updated_at`
    /// this cannot order exactly as Postgres would (unreadable, or the same second written
    /// differently, where fractions would decide): such pages are stored one after the other.
    @discardableResult
    public mutating func merge(_ later: CanonicalBatch) -> Bool {
        precondition(later.orgID == orgID && later.adapter == adapter,
                     "merging pages of \(later.orgID)/\(later.adapter) into \(orgID)/\(adapter)")
        var keepStored: Set<ExternalKey> = []
        for record in later.records {
            guard let index = positions[record.key] else { continue }
            switch Self.order(stored: records[index].sourceUpdatedAt, arriving: record.sourceUpdatedAt) {
            case .arrivingWins: break
            case .storedWins: keepStored.insert(record.key)
            case .undecided: return false
            }
        }
        for record in later.records {
            if let index = positions[record.key] {
                if !keepStored.contains(record.key) { records[index] = record }
            } else {
                positions[record.key] = records.count
                records.append(record)
            }
        }
        return true
    }

    enum StoreOrder { case arrivingWins, storedWins, undecided }

    /// What the store's upsert does when `arriving` meets `stored`: it overwrites unless both are
    /// set and the arriving one is older (`excluded.source_updated_at >= r.source_updated_at`).
    static func order(stored: String?, arriving: String?) -> StoreOrder {
        guard let stored, let arriving else { return .arrivingWins }
        if stored == arriving { return .arrivingWins }
        guard let storedTime = UTCTimestamp(iso8601: stored), let arrivingTime = UTCTimestamp(iso8601: arriving),
              storedTime != arrivingTime
        else { return .undecided }
        return arrivingTime > storedTime ? .arrivingWins : .storedWins
    }

    public var isEmpty: Bool { records.isEmpty }

    /// Records grouped by kind, in the order kinds first appear.
    public var recordsByKind: [(kind: CanonicalKind, records: [CanonicalRecord])] {
        var order: [CanonicalKind] = []
        var groups: [CanonicalKind: [CanonicalRecord]] = [:]
        for record in records {
            if groups[record.kind] == nil { order.append(record.kind) }
            groups[record.kind, default: []].append(record)
        }
        return order.map { ($0, groups[$0]!) }
    }
}
