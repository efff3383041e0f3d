/// Splitting a top-level listing's pass into partition workflows by `created_at`.
///
/// A record's `created_at` never changes, so half-open ranges of it give every record exactly one
/// partition for the whole run, whatever is created, changed or deleted meanwhile: a record created
/// during the run falls in the last range (unbounded above). Each partition pages its own range
/// with the same overlap checks and catch-up delta as an unsplit listing, and journals on its own,
/// so a crash refetches at most one page per partition, as for any workflow.
///
/// Why: one listing pages serially, so a large entity (Person) is the critical path of a full sync
/// whenever the API answers faster than one page per commit; and PCO limits requests at offsets
/// above 30,000 much more strictly (reference/pco-api.md §2), which ranges keep away from.
///
/// The boundaries come from probing the listing ordered by `created_at` at evenly spaced offsets
/// (one request of one record each, plus one from the other end): the shell makes the requests,
/// this type says which and what they mean. The split relies on PCO's `created_at` never changing
/// and never being null; the two end probes check the second (see ``boundaries(from:ends:)``).
public struct CreatedAtSplit: Sendable, Hashable {
    /// The attribute ranges are taken over.
    public static let attribute = "created_at"

    /// Most partitions one listing is split into; 1 turns splitting off.
    public var maximumPartitions: Int
    /// Fewest records a partition is planned to list. Below it a split saves less time than its
    /// probes cost requests (the default, 500, is five full PCO pages).
    public var minimumRecordsPerPartition: Int

    public init(maximumPartitions: Int, minimumRecordsPerPartition: Int = 500) {
        precondition(maximumPartitions >= 1, "a listing needs at least one partition, got \(maximumPartitions)")
        precondition(minimumRecordsPerPartition >= 1, "a partition needs room for one record, got \(minimumRecordsPerPartition)")
        self.maximumPartitions = maximumPartitions
        self.minimumRecordsPerPartition = minimumRecordsPerPartition
    }

    /// No splitting.
    public static let off = CreatedAtSplit(maximumPartitions: 1)

    /// Whether `plan` of `entity` may be split: a top-level listing whose first phase lists every
    /// record, on an endpoint that filters `created_at` by range and orders by it.
    public func applies(to plan: EntitySyncPlan, of entity: EntityDefinition) -> Bool {
        maximumPartitions > 1 && plan.parentIDs == nil && plan.phases.first == .pass
            && entity.endpoint.filterable.contains(Self.attribute) && entity.endpoint.orderable.contains(Self.attribute)
    }

    /// How many partitions a listing of `totalCount` records gets.
    public func partitionCount(totalCount: Int) -> Int {
        max(1, min(maximumPartitions, totalCount / minimumRecordsPerPartition))
    }

    /// Offsets, in `created_at` order, of the records whose `created_at` starts partitions 1, 2, …
    /// (empty: do not split).
    public func probeOffsets(totalCount: Int) -> [Int] {
        let count = partitionCount(totalCount: totalCount)
        return (1..<count).map { $0 * totalCount / count }
    }

    /// The boundaries the probed `created_at` values give: strictly increasing, so that no range is
    /// empty by construction. Equal values (records created within one second, as in a bulk import)
    /// collapse into one boundary and unknown ones are dropped; the split is then coarser, never wrong.
    ///
    /// `ends` are the `created_at` of the listing's first record in ascending and in descending
    /// order. When either has none there are no boundaries (do not split): a record without
    /// `created_at` matches no range, so no partition would list it and the reconciliation would
    /// take it for deleted; servers sort such records first or last, so the two ends show them.
    public static func boundaries(from probed: [UTCTimestamp?], ends: (first: UTCTimestamp?, last: UTCTimestamp?)) -> [UTCTimestamp] {
        guard ends.first != nil, ends.last != nil else { return [] }
        var boundaries: [UTCTimestamp] = []
        for case let value? in probed where value > (boundaries.last ?? UTCTimestamp(secondsSinceEpoch: .min)) {
            boundaries.append(value)
        }
        return boundaries
    }
}

/// The `created_at` range one partition of a split listing lists: `lower` ≤ created_at < `upper`,
/// either end open when nil.
public struct CreatedAtRange: Sendable, Hashable, Codable {
    public var lower: UTCTimestamp?
    public var upper: UTCTimestamp?

    public init(lower: UTCTimestamp?, upper: UTCTimestamp?) {
        self.lower = lower
        self.upper = upper
    }

    /// The range as PCO `where` parameters (full UTC timestamps: a date alone would be read in the
    /// organization's time zone).
    public var queryParameters: [QueryParameter] {
        var parameters: [QueryParameter] = []
        if let lower { parameters.append(QueryParameter("where[\(CreatedAtSplit.attribute)][gte]", lower.iso8601)) }
        if let upper { parameters.append(QueryParameter("where[\(CreatedAtSplit.attribute)][lt]", upper.iso8601)) }
        return parameters
    }
}
