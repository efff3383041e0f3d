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

    /// Adds another page's records of the same org and adapter, when storing the result writes what
    /// storing the two pages one after the other would: the same rows, links and edges. A record of
    /// both pages keeps the copy the store would have kept: the later one unless the earlier one is
    /// newer (rows never go backwards). Records keep the order they first appeared in.
    ///
    /// Returns false, changing nothing, when that cannot be promised for a record of both pages
    /// (see ``merged(stored:arriving:)``): such pages are stored one after the other.
    @discardableResult
    public mutating func merge(_ later: CanonicalBatch) -> Bool {
        precondition(later.orgID == orgID && later.adapter == adapter,
                     "merging pages of \(later.orgID)/\(later.adapter) into \(orgID)/\(adapter)")
        var keepStored: Set<ExternalKey> = []
        for record in later.records {
            guard let index = positions[record.key] else { continue }
            switch Self.merged(stored: records[index], arriving: record) {
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

    /// Which copy of a record one merged page keeps, or `undecided` when keeping one copy would
    /// not store what the two pages stored in order do:
    /// - the order of the two `source_updated_at` is unclear (``order(stored:arriving:)``);
    /// - the dropped copy refers to a key the kept one does not: stored in order, its page would
    ///   have made a placeholder link for it;
    /// - the later copy wins but does not assert every relationship the earlier one did: stored in
    ///   order, the earlier copy's edges of that relationship would have stayed.
    static func merged(stored: CanonicalRecord, arriving: CanonicalRecord) -> StoreOrder {
        let order = order(stored: stored.sourceUpdatedAt, arriving: arriving.sourceUpdatedAt)
        let (kept, dropped): (CanonicalRecord, CanonicalRecord)
        switch order {
        case .undecided: return .undecided
        case .arrivingWins: (kept, dropped) = (arriving, stored)
        case .storedWins: (kept, dropped) = (stored, arriving)
        }
        guard Set(dropped.referencedKeys).isSubset(of: kept.referencedKeys) else { return .undecided }
        if order == .arrivingWins,
           !Set(stored.relationships.map(\.relationship)).isSubset(of: arriving.relationships.map(\.relationship)) {
            return .undecided
        }
        return order
    }

    /// What the store's upsert does when `arriving` meets `stored`, as far as it can be told here:
    /// it overwrites unless both are set and the arriving one is older
    /// (`excluded.source_updated_at >= r.source_updated_at`). Undecided when:
    /// - only the arriving one is set: stored in order, the earlier copy would have cleared the
    ///   stored time and the later one then been written whatever the stored row held;
    /// - either is unreadable, or has no zone (Postgres reads it in the session's time zone);
    /// - they are within a second of each other and either has a fraction (Postgres keeps, and
    ///   rounds, microseconds; ``UTCTimestamp`` drops them).
    static func order(stored: String?, arriving: String?) -> StoreOrder {
        guard let arriving else { return .arrivingWins }
        guard let stored else { return .undecided }
        if stored == arriving { return .arrivingWins }
        guard Self.hasZone(stored), Self.hasZone(arriving),
              let storedTime = UTCTimestamp(iso8601: stored), let arrivingTime = UTCTimestamp(iso8601: arriving)
        else { return .undecided }
        let apart = abs(arrivingTime.secondsSinceEpoch - storedTime.secondsSinceEpoch)
        if apart <= 1 && (stored.contains(".") || arriving.contains(".")) { return .undecided }
        if apart == 0 { return .arrivingWins }  // one instant, written two ways
        return arrivingTime > storedTime ? .arrivingWins : .storedWins
    }

    /// Whether an ISO-8601 timestamp (`YYYY-MM-DDTHH:MM:SS`, maybe a fraction) ends in `Z` or a
    /// numeric offset (`+01:00`, `-0500`).
    static func hasZone(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count > 19 else { return false }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        }
        let zone = bytes[index...]
        if zone.elementsEqual("Z".utf8) { return true }
        guard let sign = zone.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return false }
        let digits = zone.dropFirst().filter { $0 != UInt8(ascii: ":") }
        return digits.count == 4 && digits.allSatisfy { (48...57).contains($0) }
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
