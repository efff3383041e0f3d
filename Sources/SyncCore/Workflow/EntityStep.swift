/// One journaled step of an entity-sync workflow. Step 0 is always `.planned`; the step number is
/// the position in the journal, so a retried step collides with its own row instead of writing twice.
public enum EntityStep: Sendable, Hashable, Codable {
    case planned(EntitySyncPlan)
    /// A page whose rows committed in the same transaction as this step.
    case page(PageStepRecord)
    /// Every partition of a nested listing completed its pages (journaled in the partitions' own workflows).
    case partitionsCompleted(PartitionSummary)
    /// Rows the completed pass did not see were soft-deleted.
    case reconciled(softDeleted: Int)
    case completed(watermark: UTCTimestamp?)
    case failed(reason: String)

    /// The `workflow_steps.kind` column.
    public var kind: String {
        switch self {
        case .planned: "planned"
        case .page: "page"
        case .partitionsCompleted: "partitions_completed"
        case .reconciled: "reconciled"
        case .completed: "completed"
        case .failed: "failed"
        }
    }
}

public struct PageStepRecord: Sendable, Hashable, Codable {
    /// Where the page was read from.
    public var request: EntitySyncCursor
    /// Where the workflow continues.
    public var next: EntitySyncCursor
    public var fetched: Int
    /// Canonical records the page stored: its resources and the included ones of synced kinds. A
    /// record older than its stored copy counts too (the newer copy stays: rows never go backwards).
    public var rowsWritten: Int
    public var counters: RequestCounters
    /// The listing's `meta.total_count` as this page saw it (progress only).
    public var totalCount: Int?

    public init(request: EntitySyncCursor, next: EntitySyncCursor, fetched: Int, rowsWritten: Int, counters: RequestCounters,
                totalCount: Int? = nil) {
        self.request = request
        self.next = next
        self.fetched = fetched
        self.rowsWritten = rowsWritten
        self.counters = counters
        self.totalCount = totalCount
    }
}

/// What the partitions of a nested listing did, added up.
public struct PartitionSummary: Sendable, Hashable, Codable {
    public var partitions: Int
    public var pages: Int
    public var fetched: Int
    public var rowsWritten: Int
    public var counters: RequestCounters

    public init(partitions: Int, pages: Int, fetched: Int, rowsWritten: Int, counters: RequestCounters) {
        self.partitions = partitions
        self.pages = pages
        self.fetched = fetched
        self.rowsWritten = rowsWritten
        self.counters = counters
    }
}
