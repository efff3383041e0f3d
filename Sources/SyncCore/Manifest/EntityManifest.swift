/// The entities one adapter can sync, their endpoints and relationships.
///
/// A manifest is data: the dependency graph, the sync strategies and the simulator are all derived
/// from it. The order of `entities` is meaningful: it is the deterministic tie-break of the graph
/// builder (see ``DependencyGraph``), so list preferred dependencies first.
public struct EntityManifest: Sendable, Hashable, Codable {
    /// The adapter's identifier, e.g. `pco`.
    public var adapter: String
    public var entities: [EntityDefinition]

    public init(adapter: String, entities: [EntityDefinition]) {
        self.adapter = adapter
        self.entities = entities
    }

    /// The entity with this name, if the manifest has one.
    public func entity(named name: String) -> EntityDefinition? {
        entities.first { $0.name == name }
    }

    /// The entity that a JSON:API resource of this type belongs to (`PrimaryCampus` -> Campus).
    public func entity(forTypeName typeName: String) -> EntityDefinition? {
        entities.first { $0.typeNames.contains(typeName) }
    }
}

/// One syncable entity of an adapter.
public struct EntityDefinition: Sendable, Hashable, Codable {
    /// The canonical name of the entity, e.g. `Person`. Unique within a manifest.
    public var name: String
    /// Every JSON:API `type` a resource of this entity can appear under; the first is the primary one.
    /// PCO uses `PrimaryCampus` for the campus a person points to, so Campus lists both.
    public var typeNames: [String]
    public var endpoint: ListEndpoint
    /// Whether records carry an `updated_at` attribute at all (PCO Group and Membership do not).
    public var hasUpdatedAt: Bool
    public var relationships: [Relationship]

    public init(
        name: String,
        typeNames: [String],
        endpoint: ListEndpoint,
        hasUpdatedAt: Bool,
        relationships: [Relationship] = []
    ) {
        self.name = name
        self.typeNames = typeNames
        self.endpoint = endpoint
        self.hasUpdatedAt = hasUpdatedAt
        self.relationships = relationships
    }

    /// The JSON:API type under which this entity's own list endpoint returns it.
    public var primaryTypeName: String { typeNames.first ?? name }

    /// How an incremental sync of this entity finds what changed.
    public var deltaMethod: DeltaMethod {
        if endpoint.filterable.contains("updated_at") { return .updatedAtFilter }
        if hasUpdatedAt && endpoint.orderable.contains("updated_at") { return .updatedAtDescendingEarlyStop }
        return .fullRefresh
    }
}

/// How a delta sync selects changed records of an entity.
public enum DeltaMethod: String, Sendable, Hashable, Codable {
    /// `where[updated_at][gte]=watermark - overlap&order=updated_at`.
    case updatedAtFilter = "updated_at_filter"
    /// No filter exists (PCO Address): `order=-updated_at`, stop at the first record older than the watermark.
    case updatedAtDescendingEarlyStop = "updated_at_desc_early_stop"
    /// No `updated_at` at all (PCO Group, Membership): every delta re-reads the whole entity.
    case fullRefresh = "full_refresh"
}

/// Where and how an entity is listed.
public struct ListEndpoint: Sendable, Hashable, Codable {
    /// The path, e.g. `/people/v2/people`; a nested endpoint has one `{parent_id}` placeholder,
    /// e.g. `/groups/v2/groups/{parent_id}/memberships`.
    public var path: String
    /// For a nested endpoint, the entity whose records the path is listed under.
    public var parent: String?
    /// Page size requested when syncing (PCO allows 1...100).
    public var perPage: Int
    public var defaultInclude: [String]
    /// Default `order` parameter (`-` prefix for descending), nil for the server's default (id).
    public var defaultOrder: String?
    /// Attributes accepted in `where[...]`.
    public var filterable: Set<String>
    /// Attributes accepted in `order=`.
    public var orderable: Set<String>
    /// Relationship names accepted in `include=`.
    public var includable: Set<String>

    public static let parentPlaceholder = "{parent_id}"

    public init(
        path: String,
        parent: String? = nil,
        perPage: Int = 100,
        defaultInclude: [String] = [],
        defaultOrder: String? = nil,
        filterable: Set<String> = [],
        orderable: Set<String> = [],
        includable: Set<String> = []
    ) {
        self.path = path
        self.parent = parent
        self.perPage = perPage
        self.defaultInclude = defaultInclude
        self.defaultOrder = defaultOrder
        self.filterable = filterable
        self.orderable = orderable
        self.includable = includable
    }

    public var isNested: Bool { parent != nil }

    /// The concrete path for one parent record of a nested endpoint.
    public func path(parentID: String) -> String {
        path.replacingFirst(Self.parentPlaceholder, with: parentID)
    }
}

/// A relationship of an entity to another, and what it means for sync order.
public struct Relationship: Sendable, Hashable, Codable {
    /// The JSON:API relationship key, e.g. `primary_campus`.
    public var name: String
    /// The entity it points to.
    public var target: String
    public var cardinality: Cardinality
    public var dependency: DependencyKind

    public init(name: String, target: String, cardinality: Cardinality = .toOne, dependency: DependencyKind) {
        self.name = name
        self.target = target
        self.cardinality = cardinality
        self.dependency = dependency
    }
}

public enum Cardinality: String, Sendable, Hashable, Codable {
    case toOne = "to_one"
    case toMany = "to_many"
}

/// Whether the target must be synced before the entity that points to it.
public enum DependencyKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The child cannot be stored meaningfully before its parent (Person -> Address).
    case hard
    /// Ordering only saves placeholder links and API calls (Campus -> Person); may be dropped to break a cycle.
    case soft
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, let range = self.firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
