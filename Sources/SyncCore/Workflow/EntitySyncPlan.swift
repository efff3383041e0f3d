/// What one entity-sync workflow will do, fixed when the workflow starts and journaled as its step 0,
/// so a replay after a crash follows exactly the same plan.
public struct EntitySyncPlan: Sendable, Hashable, Codable {
    public enum Phase: Sendable, Hashable, Codable {
        /// Every record, in the server's default (id) order.
        case pass
        /// Records changed since `since`, by the entity's delta method.
        case delta(since: UTCTimestamp, method: DeltaMethod)
        /// Soft-delete canonical rows the completed pass did not see (a database step, no fetch).
        case reconcile
    }

    public var entity: String
    public var strategy: SyncStrategy
    public var phases: [Phase]
    /// For a nested endpoint: the parent records to list under, in order.
    public var parentIDs: [String]?
    public var runStartedAt: UTCTimestamp
    public var perPage: Int
    /// The watermark the workflow will store when it completes.
    public var completionWatermark: UTCTimestamp?
    /// A nested listing (one request per parent) is split into this many partition workflows that
    /// run concurrently, each over every n-th parent, each journaled on its own; so is a top-level
    /// listing split by `created_at` (``createdAtBoundaries``). 1 = no split.
    public var partitions: Int = 1
    /// A top-level listing split by `created_at` (``CreatedAtSplit``): partition i lists the records
    /// created in [boundaries[i-1], boundaries[i]), the first range open below, the last open above.
    public var createdAtBoundaries: [UTCTimestamp]?
    /// In a partition of such a listing: the range it lists, in every fetch phase.
    public var createdAtRange: CreatedAtRange?
    /// The records a split listing reported in total when it was planned (progress only: its
    /// partitions page it).
    public var listedTotal: Int?

    public init(entity: String, strategy: SyncStrategy, phases: [Phase], parentIDs: [String]?,
                runStartedAt: UTCTimestamp, perPage: Int, completionWatermark: UTCTimestamp?) {
        self.entity = entity
        self.strategy = strategy
        self.phases = phases
        self.parentIDs = parentIDs
        self.runStartedAt = runStartedAt
        self.perPage = perPage
        self.completionWatermark = completionWatermark
    }

    /// The plan for `entity` under `strategy` (DESIGN §3).
    ///
    /// - Full: a pass, then a catch-up delta from the run's start minus the overlap (records changed
    ///   while paging), then reconciliation against the rows the run saw.
    /// - Delta: changes since the stored watermark minus the overlap; an entity without `updated_at`
    ///   (or never synced) gets a full pass and reconciliation instead, since only a complete pass
    ///   may be used to detect deletes.
    /// - Reconcile: a pass and reconciliation.
    public static func make(
        entity: EntityDefinition, strategy: SyncStrategy, watermark: UTCTimestamp?, runStartedAt: UTCTimestamp,
        overlapSeconds: Int64, parentIDs: [String]?, nestedPartitions: Int = 1
    ) -> EntitySyncPlan {
        let method = entity.deltaMethod
        let phases: [Phase]
        var completionWatermark: UTCTimestamp? = runStartedAt.adding(seconds: -overlapSeconds)
        switch strategy {
        case .full:
            phases = method == .fullRefresh
                ? [.pass, .reconcile]
                : [.pass, .delta(since: runStartedAt.adding(seconds: -overlapSeconds), method: method), .reconcile]
        case .delta:
            if method == .fullRefresh || watermark == nil {
                phases = method == .fullRefresh
                    ? [.pass, .reconcile]
                    : [.pass, .delta(since: runStartedAt.adding(seconds: -overlapSeconds), method: method), .reconcile]
            } else {
                phases = [.delta(since: watermark!.adding(seconds: -overlapSeconds), method: method)]
            }
        case .reconcile:
            phases = [.pass, .reconcile]
            completionWatermark = watermark
        }
        if method == .fullRefresh { completionWatermark = nil }
        var plan = EntitySyncPlan(
            entity: entity.name, strategy: strategy, phases: phases, parentIDs: entity.endpoint.isNested ? (parentIDs ?? []) : nil,
            runStartedAt: runStartedAt, perPage: entity.endpoint.perPage, completionWatermark: completionWatermark
        )
        if let parents = plan.parentIDs {
            plan.partitions = max(1, min(nestedPartitions, parents.count))
        }
        return plan
    }

    /// This plan with its listing split at `boundaries` (strictly increasing, see
    /// ``CreatedAtSplit/boundaries(from:ends:)``) into `boundaries.count + 1` partitions.
    public func splitByCreatedAt(at boundaries: [UTCTimestamp], listedTotal: Int?) -> EntitySyncPlan {
        precondition(parentIDs == nil, "a nested listing of \(entity) is split by parent, not by created_at")
        precondition(zip(boundaries, boundaries.dropFirst()).allSatisfy { $0 < $1 }, "boundaries of \(entity) not increasing: \(boundaries)")
        guard !boundaries.isEmpty else { return self }
        var split = self
        split.createdAtBoundaries = boundaries
        split.partitions = boundaries.count + 1
        split.listedTotal = listedTotal
        return split
    }

    /// The plan of partition `index` of `partitions`: the fetch phases of this plan over every
    /// `partitions`-th parent (a nested listing) or over the index-th `created_at` range (a split
    /// top-level listing); no reconciliation and no watermark (the parent workflow does those).
    public func partition(_ index: Int) -> EntitySyncPlan {
        precondition((0..<partitions).contains(index), "partition \(index) of \(partitions) for \(entity)")
        var part = self
        part.phases = phases.filter { $0 != .reconcile }
        part.parentIDs = parentIDs.map { ids in ids.indices.filter { $0 % partitions == index }.map { ids[$0] } }
        if let boundaries = createdAtBoundaries {
            part.createdAtRange = CreatedAtRange(lower: index > 0 ? boundaries[index - 1] : nil,
                                                 upper: index < boundaries.count ? boundaries[index] : nil)
            part.createdAtBoundaries = nil
            part.listedTotal = nil
        }
        part.completionWatermark = nil
        part.partitions = 1
        return part
    }
}
