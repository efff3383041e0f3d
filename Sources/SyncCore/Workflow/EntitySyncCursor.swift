/// Where an entity-sync workflow is: which phase, which parent (nested endpoints), which offset,
/// and the ids of the page before (to verify that consecutive pages overlap).
public struct EntitySyncCursor: Sendable, Hashable, Codable {
    public var phaseIndex: Int
    public var parentIndex: Int
    public var offset: Int
    /// Ids of the previous page of the current listing; empty at the start of a listing.
    public var previousPageIDs: [String]
    /// How many times the current page was re-requested further back because it did not overlap.
    public var stepBacks: Int

    public init(phaseIndex: Int = 0, parentIndex: Int = 0, offset: Int = 0, previousPageIDs: [String] = [], stepBacks: Int = 0) {
        self.phaseIndex = phaseIndex
        self.parentIndex = parentIndex
        self.offset = offset
        self.previousPageIDs = previousPageIDs
        self.stepBacks = stepBacks
    }

    public static let start = EntitySyncCursor()
}

/// One request the workflow wants made.
public struct PageRequest: Sendable, Hashable {
    public var phase: EntitySyncPlan.Phase
    /// The parent record for a nested endpoint.
    public var parentID: String?
    public var offset: Int
    public var perPage: Int
    /// `where[...]` and `order` parameters, in a stable order.
    public var query: [QueryParameter]
}

public struct QueryParameter: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What the workflow needs to know about a fetched page.
public struct PageSummary: Sendable, Hashable {
    /// Primary resource ids, in the order served.
    public var ids: [String]
    /// `updated_at` of each primary resource, where it has one.
    public var updatedAts: [UTCTimestamp?]
    /// Whether the server says another page follows (`meta.next`).
    public var hasNext: Bool
    /// `meta.total_count`: how many records the listing has (for progress only).
    public var totalCount: Int?

    public init(ids: [String], updatedAts: [UTCTimestamp?], hasNext: Bool, totalCount: Int? = nil) {
        self.ids = ids
        self.updatedAts = updatedAts
        self.hasNext = hasNext
        self.totalCount = totalCount
    }
}

/// Request counters a page step records (HTTP attempts behind the page).
public struct RequestCounters: Sendable, Hashable, Codable {
    public var requests: Int
    public var rateLimited: Int
    public var retries: Int

    public init(requests: Int = 0, rateLimited: Int = 0, retries: Int = 0) {
        self.requests = requests
        self.rateLimited = rateLimited
        self.retries = retries
    }

    public static func + (lhs: Self, rhs: Self) -> Self {
        .init(requests: lhs.requests + rhs.requests, rateLimited: lhs.rateLimited + rhs.rateLimited, retries: lhs.retries + rhs.retries)
    }
}
