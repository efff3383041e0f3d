/// The entity-sync workflow as a state machine: it says what to fetch next, judges each fetched page,
/// and folds committed steps into its state. It does no I/O and reads no clock, so resuming after a
/// crash is `replay(journal)`: the same fold over the rows the journal holds.
///
/// States: not started -> running (fetching pages, phase by phase) -> reconciling -> completed;
/// any state -> failed. Completed and failed are final.
public struct EntityWorkflow: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case notStarted
        case running
        case completed
        case failed(reason: String)
    }

    /// What the shell should do next.
    public enum Action: Sendable, Hashable {
        /// Journal this plan as step 0 (the shell builds it with ``EntitySyncPlan/make``).
        case plan
        case fetch(PageRequest)
        /// Run the partition workflows of a nested listing to completion (``EntitySyncPlan/partition(_:)``),
        /// then journal `.partitionsCompleted` with their totals.
        case runPartitions(count: Int)
        /// Soft-delete rows this workflow did not see, then journal `.reconciled`.
        case reconcile
        /// Journal `.completed` and store the watermark with it.
        case complete(watermark: UTCTimestamp?)
        /// Nothing more to do.
        case finished
    }

    /// The verdict on a fetched page.
    public enum PageVerdict: Sendable, Hashable {
        /// Store the page and journal this step in one transaction.
        case commit(PageStepRecord)
        /// The page does not overlap the one before (records were deleted ahead of the cursor, so
        /// offsets shifted): fetch again from further back. Nothing is journaled.
        case refetch(PageRequest)
    }

    /// How many times one page may be re-requested further back before it is accepted as is.
    public static let maximumStepBacks = 4
    /// Ids of the previous page kept in the cursor for the overlap check: enough to recognise a page
    /// re-read one step back (a quarter page), few enough to keep journal rows and replay small.
    public static let overlapIDsKept = 32

    public private(set) var plan: EntitySyncPlan?
    public private(set) var cursor: EntitySyncCursor = .start
    public private(set) var status: Status = .notStarted
    /// The number the next journaled step gets.
    public private(set) var nextStep: Int = 0
    public private(set) var pages = 0
    public private(set) var fetched = 0
    public private(set) var rowsWritten = 0
    public private(set) var softDeleted = 0
    public private(set) var counters = RequestCounters()
    /// Records the first phase's listing reported in total (`meta.total_count`), when known: progress only.
    public private(set) var expectedRecords: Int?

    public init() {}

    /// The state after the journaled steps, in step order (a pure fold; no clock, no I/O).
    public static func replay(_ steps: [EntityStep]) -> EntityWorkflow {
        var workflow = EntityWorkflow()
        for step in steps { workflow.apply(step) }
        return workflow
    }

    /// Folds one committed step into the state.
    public mutating func apply(_ step: EntityStep) {
        switch step {
        case .planned(let plan):
            precondition(nextStep == 0, "plan journaled as step \(nextStep) of \(String(describing: self.plan?.entity))")
            self.plan = plan
            expectedRecords = plan.listedTotal
            status = .running
        case .page(let record):
            pages += 1
            fetched += record.fetched
            rowsWritten += record.rowsWritten
            counters = counters + record.counters
            if record.request.phaseIndex == 0, plan?.parentIDs == nil, let total = record.totalCount {
                expectedRecords = total
            }
            cursor = record.next
        case .partitionsCompleted(let summary):
            pages += summary.pages
            fetched += summary.fetched
            rowsWritten += summary.rowsWritten
            counters = counters + summary.counters
            // The partitions covered every fetch phase: continue at reconciliation, if planned.
            let reconcileIndex = plan?.phases.indices.first { plan?.phases[$0] == .reconcile }
            cursor = EntitySyncCursor(phaseIndex: reconcileIndex ?? plan?.phases.count ?? 0)
        case .reconciled(let count):
            softDeleted += count
            // Phases skipped without a step (a nested entity with no parents) end at the reconcile phase.
            let reconcileIndex = plan?.phases.indices.first { $0 >= cursor.phaseIndex && plan?.phases[$0] == .reconcile }
            cursor = EntitySyncCursor(phaseIndex: (reconcileIndex ?? cursor.phaseIndex) + 1)
        case .completed:
            status = .completed
        case .failed(let reason):
            status = .failed(reason: reason)
        }
        nextStep += 1
    }

    public var nextAction: Action {
        switch status {
        case .notStarted: return .plan
        case .completed, .failed: return .finished
        case .running: break
        }
        guard let plan else { preconditionFailure("running without a plan: \(self)") }
        guard cursor.phaseIndex < plan.phases.count else { return .complete(watermark: plan.completionWatermark) }
        let phase = plan.phases[cursor.phaseIndex]
        if case .reconcile = phase { return .reconcile }
        if plan.partitions > 1 { return .runPartitions(count: plan.partitions) }
        if let parents = plan.parentIDs, cursor.parentIndex >= parents.count {
            // A nested entity with no parents left (or none at all) has finished this phase.
            var skipped = self
            skipped.cursor = EntitySyncCursor(phaseIndex: cursor.phaseIndex + 1)
            return skipped.nextAction
        }
        return .fetch(request(for: cursor))
    }

    /// Judges a fetched page of the request made at the current cursor.
    public mutating func pageFetched(_ page: PageSummary, counters: RequestCounters) -> PageVerdict {
        guard let plan, case .fetch(let request) = nextAction else {
            preconditionFailure("pageFetched without a pending fetch: \(self)")
        }
        let previous = cursor.previousPageIDs
        if let first = page.ids.first, !previous.isEmpty, !previous.contains(first),
           cursor.offset > 0, cursor.stepBacks < Self.maximumStepBacks {
            cursor.offset = max(0, cursor.offset - max(plan.perPage / 4, 1))
            cursor.stepBacks += 1
            return .refetch(self.request(for: cursor))
        }
        let next = cursorAfter(page, request: request, plan: plan)
        var requested = cursor
        requested.previousPageIDs = []
        return .commit(PageStepRecord(request: requested, next: next, fetched: page.ids.count, rowsWritten: 0, counters: counters,
                                      totalCount: page.totalCount))
    }

    /// Where the workflow goes after accepting `page`.
    private func cursorAfter(_ page: PageSummary, request: PageRequest, plan: EntitySyncPlan) -> EntitySyncCursor {
        var stopEarly = false
        if case .delta(let since, .updatedAtDescendingEarlyStop) = request.phase {
            // Newest first: once a record older than `since` shows up, everything after it is older.
            stopEarly = page.updatedAts.contains { $0.map { $0 < since } ?? false }
        }
        if page.hasNext && !page.ids.isEmpty && !stopEarly {
            // Overlap one record with the next page, so a shift caused by deletions is detectable.
            let advance = page.ids.count > 1 ? page.ids.count - 1 : 1
            return EntitySyncCursor(phaseIndex: cursor.phaseIndex, parentIndex: cursor.parentIndex,
                                    offset: cursor.offset + advance, previousPageIDs: Array(page.ids.suffix(Self.overlapIDsKept)))
        }
        if let parents = plan.parentIDs, cursor.parentIndex + 1 < parents.count {
            return EntitySyncCursor(phaseIndex: cursor.phaseIndex, parentIndex: cursor.parentIndex + 1)
        }
        return EntitySyncCursor(phaseIndex: cursor.phaseIndex + 1)
    }

    private func request(for cursor: EntitySyncCursor) -> PageRequest {
        let plan = plan!
        let phase = plan.phases[cursor.phaseIndex]
        var query: [QueryParameter] = []
        if case .delta(let since, let method) = phase {
            switch method {
            case .updatedAtFilter:
                query = [QueryParameter("where[updated_at][gte]", since.iso8601), QueryParameter("order", "updated_at")]
            case .updatedAtDescendingEarlyStop:
                query = [QueryParameter("order", "-updated_at")]
            case .fullRefresh:
                query = []
            }
        }
        query += plan.createdAtRange?.queryParameters ?? []
        return PageRequest(phase: phase, parentID: plan.parentIDs.map { $0[cursor.parentIndex] },
                           offset: cursor.offset, perPage: plan.perPage, query: query)
    }
}
