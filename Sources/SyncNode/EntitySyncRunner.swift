import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// Progress of one entity of a run, as the admin API and progress bars show it.
public struct EntityProgress: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable { case waiting, running, completed, failed, skipped }
    public var entity: String
    public var state: State
    public var pages: Int
    public var fetched: Int
    public var rows: Int
    public var softDeleted: Int
    public var requests: Int
    public var rateLimited: Int
    public var retries: Int
    public var failure: String?
    /// Records the entity's listing reported in total, when known (the denominator of a progress bar).
    public var expected: Int?

    public init(entity: String, state: State, workflow: EntityWorkflow? = nil) {
        self.entity = entity
        self.state = state
        pages = workflow?.pages ?? 0
        fetched = workflow?.fetched ?? 0
        rows = workflow?.rowsWritten ?? 0
        softDeleted = workflow?.softDeleted ?? 0
        requests = workflow?.counters.requests ?? 0
        rateLimited = workflow?.counters.rateLimited ?? 0
        retries = workflow?.counters.retries ?? 0
        expected = workflow?.expectedRecords
        if case .failed(let reason)? = workflow?.status { failure = reason }
    }
}

/// The shell around ``EntityWorkflow``: replays the journal, then fetches, transforms and commits page
/// by page, each page's rows and its journal step in one fenced transaction.
///
/// Storage errors are handled by bucket: not committed -> retry; already committed -> reload the
/// journal and carry on; outcome unknown -> look the step up, then one of the two; ownership lost ->
/// stop at once (another node owns the shard now). The durable loop never prefetches, so after a
/// crash at most the page in flight is fetched again.
public struct EntitySyncRunner: Sendable {
    public struct Context: Sendable {
        public var run: RunRecord
        public var entity: EntityDefinition
        public var fence: WriteFence
        public var client: PCOClient
        public var journal: JournalStore
        public var store: CanonicalStore
        public var transformer: PCOTransformer
        public var overlapSeconds: Int64
        /// True once the node drains: the runner stops before starting another step.
        public var shouldStop: @Sendable () -> Bool
        public var progress: @Sendable (EntityProgress) -> Void
        public var logger: Logger
        /// See ``NodeConfiguration/testCommitDelay``.
        public var testCommitDelay: Duration = .zero
        /// Partition workflows a nested listing is split into (see ``EntitySyncPlan/partitions``).
        public var nestedPartitions: Int = 1
        /// How a top-level listing's pass is split by `created_at` (``CreatedAtSplit``); off by default.
        public var createdAtSplit: CreatedAtSplit = .off
        /// Where the workflow says what it is doing (for the slow-step watchdog and stuck-shard logs).
        public var activity: WorkflowActivity?

        public init(run: RunRecord, entity: EntityDefinition, fence: WriteFence, client: PCOClient, journal: JournalStore,
                    store: CanonicalStore, transformer: PCOTransformer, overlapSeconds: Int64,
                    shouldStop: @escaping @Sendable () -> Bool, progress: @escaping @Sendable (EntityProgress) -> Void, logger: Logger) {
            self.run = run
            self.entity = entity
            self.fence = fence
            self.client = client
            self.journal = journal
            self.store = store
            self.transformer = transformer
            self.overlapSeconds = overlapSeconds
            self.shouldStop = shouldStop
            self.progress = progress
            self.logger = logger
        }
    }

    /// The workflow stopped because the node is draining; it resumes from its journal later.
    public struct Interrupted: Error, Sendable {}

    public static func workflowID(run: UUID, entity: String) -> String { "run/\(run.uuidString.lowercased())/\(entity)" }

    let context: Context
    /// Set for a partition workflow of a nested listing: its index and its (derived) plan.
    let partition: (index: Int, plan: EntitySyncPlan)?

    var workflowID: String {
        let base = Self.workflowID(run: context.run.id, entity: context.entity.name)
        return partition.map { "\(base)#\($0.index)" } ?? base
    }

    public init(context: Context) {
        self.context = context
        self.partition = nil
    }

    init(context: Context, partition: (index: Int, plan: EntitySyncPlan)) {
        self.context = context
        self.partition = partition
    }

    /// Runs the workflow to a final state (completed or failed) and returns it.
    public func run() async throws -> EntityWorkflow {
        var logger = context.logger
        logger[metadataKey: "sync.run"] = "\(context.run.id)"
        logger[metadataKey: "sync.entity"] = "\(context.entity.name)"
        logger[metadataKey: "sync.org"] = "\(context.run.orgID)"
        let activity = context.activity
        let token: WorkflowActivity.Token? = switch context.fence {
        case .shard(let shard, let epoch): activity?.began(workflowID, shard: shard, epoch: epoch)
        case .leader: activity?.began(workflowID, shard: nil, epoch: nil)
        }
        defer { if let token { activity?.ended(token) } }
        let phase = { @Sendable (description: String, watched: Bool) in
            if let token { activity?.entered(description, token, watched: watched) }
        }
        var workflow = try await replay()
        var transientFailures = 0
        while true {
            report(workflow)
            let action = workflow.nextAction
            if action == .finished { return workflow }
            if context.shouldStop() { throw Interrupted() }
            do {
                let waitsForPartitions = if case .runPartitions = action { true } else { false }
                phase(Self.describe(action, step: workflow.nextStep), !waitsForPartitions)
                try await perform(action, on: &workflow, phase: phase, logger: logger)
                transientFailures = 0
            } catch let error as JournalError {
                switch error.code {
                case .ownershipLost:
                    // The fence moved on: another node owns the shard now, and this commit is void.
                    logger.warning("stale commit rejected by the shard fence", metadata: ["sync.error": "\(error)"])
                    NodeMetrics.fenceRejected()
                    throw error
                case .invalidState:
                    throw error
                case .alreadyCommitted:
                    logger.info("step already committed; reloading the journal", metadata: ["sync.step": "\(error.step ?? -1)"])
                    workflow = try await replay()
                case .outcomeUnknown:
                    // Counted and paced like a failure: a Postgres that keeps closing connections at
                    // COMMIT must not make the workflow spin.
                    transientFailures += 1
                    guard transientFailures <= 8 else { throw error }
                    logger.warning("commit outcome unknown; resolving from the journal", metadata: ["sync.step": "\(error.step ?? -1)"])
                    try await Task.sleep(for: .milliseconds(100 << min(transientFailures, 6)))
                    workflow = try await retryingStorage(logger: logger) { try await replay() }
                case .notCommitted:
                    transientFailures += 1
                    guard transientFailures <= 8 else { throw error }
                    logger.warning("step not committed, retrying", metadata: ["sync.error": "\(error)"])
                    phase("waiting to retry step \(workflow.nextStep) (not committed)", true)
                    try await Task.sleep(for: .milliseconds(100 << min(transientFailures, 6)))
                }
            } catch let error as PCORequestError where error.isTransient {
                transientFailures += 1
                guard transientFailures <= 3 else {
                    try await fail(&workflow, reason: error.description, logger: logger)
                    continue
                }
                logger.warning("source unavailable, retrying the step", metadata: ["sync.error": "\(error)"])
                phase("waiting to retry step \(workflow.nextStep) (source unavailable)", true)
                try await Task.sleep(for: .seconds(2 * transientFailures))
            } catch let error as PCORequestError {
                try await fail(&workflow, reason: error.description, logger: logger)
            } catch let error as PCOAuthError {
                try await fail(&workflow, reason: error.description, logger: logger)
            } catch let error as PCOTransformError {
                try await fail(&workflow, reason: error.description, logger: logger)
            }
        }
    }

    /// The phase an action puts the workflow in, as the activity board shows it.
    /// (A parent waiting on its partitions is not watched: it lasts as long as they do.)
    static func describe(_ action: EntityWorkflow.Action, step: Int) -> String {
        switch action {
        case .plan: "planning (step \(step))"
        case .fetch(let request):
            "fetching offset \(request.offset)" + (request.parentID.map { " of parent \($0)" } ?? "") + " (step \(step))"
        case .runPartitions(let count): "waiting for \(count) partition workflows (step \(step))"
        case .reconcile: "reconciling (step \(step))"
        case .complete: "completing (step \(step))"
        case .finished: "finished"
        }
    }

    private func replay() async throws -> EntityWorkflow {
        EntityWorkflow.replay(try await context.journal.steps(of: workflowID, as: EntityStep.self))
    }

    private func report(_ workflow: EntityWorkflow) {
        let state: EntityProgress.State = switch workflow.status {
        case .notStarted: .waiting
        case .running: .running
        case .completed: .completed
        case .failed: .failed
        }
        context.progress(EntityProgress(entity: context.entity.name, state: state, workflow: workflow))
    }

    private func perform(
        _ action: EntityWorkflow.Action, on workflow: inout EntityWorkflow, phase: @Sendable (String, Bool) -> Void, logger: Logger
    ) async throws {
        switch action {
        case .plan:
            let plan: EntitySyncPlan
            if let partition { plan = partition.plan } else { plan = try await makePlan() }
            try await commit(.planned(plan), step: workflow.nextStep)
            workflow.apply(.planned(plan))
        case .fetch(let request):
            var pageRequest = request
            // What this step's requests cost, counted per call: the client's running counters also
            // count the requests that other workflows (partitions of this entity) make meanwhile.
            var counters = RequestCounters()
            while true {
                let document: JSONAPIDocument
                do {
                    let (response, fetched) = try await context.client.getDocument(path: path(for: pageRequest), query: query(for: pageRequest))
                    document = fetched
                    counters = counters + RequestCounters(requests: response.attempts, rateLimited: response.rateLimited,
                                                          retries: response.attempts - 1)
                } catch let error as PCORequestError where error.status == 404 && pageRequest.parentID != nil {
                    counters = counters + RequestCounters(requests: error.attempts, retries: max(0, error.attempts - 1))
                    // The parent was deleted at the source after this run listed it (found by the
                    // chaos soak): its nested records are gone with it. An empty page, not a failed
                    // run; the stored ones are soft-deleted by the next reconciliation.
                    logger.info("nested listing of a parent deleted at the source: read as empty",
                                metadata: ["sync.parent": "\(pageRequest.parentID ?? "")", "sync.error": "\(error)"])
                    NodeMetrics.nestedListingOfDeletedParent()
                    document = JSONAPIDocument(data: .many([]))
                }
                let summary = PageSummary(
                    ids: document.resources.map(\.id),
                    updatedAts: document.resources.map { $0.attributes["updated_at"]?.stringValue.flatMap(UTCTimestamp.init(iso8601:)) },
                    hasNext: document.hasNextPage, totalCount: document.meta?.totalCount
                )
                switch workflow.pageFetched(summary, counters: counters) {
                case .refetch(let again):
                    logger.info("page did not overlap the previous one; reading from further back",
                                metadata: ["sync.offset": "\(pageRequest.offset)", "sync.retry_offset": "\(again.offset)"])
                    pageRequest = again
                case .commit(let record):
                    let parent = pageRequest.parentID.flatMap { id in
                        context.entity.endpoint.parent.map { ResourceIdentifier(type: parentTypeName($0), id: id) }
                    }
                    let batch = try context.transformer.transform(document, entity: context.entity, orgID: context.run.orgID, parent: parent)
                    if context.testCommitDelay > .zero {
                        logger.info("test hook: page fetched, holding it before the commit",
                                    metadata: ["sync.step": "\(workflow.nextStep)", "sync.offset": "\(pageRequest.offset)"])
                        try await Task.sleep(for: context.testCommitDelay)
                    }
                    phase("committing page step \(workflow.nextStep) (\(batch.records.count) records)", true)
                    var committed = record
                    committed.rowsWritten = batch.records.count
                    if batch.isEmpty {
                        try await commit(.page(committed), step: workflow.nextStep)
                    } else {
                        // The page's links, rows and edges and its journal row in one statement, which
                        // other workflows' steps may share (group commit); their pages are merged into
                        // one. Its conflict key is the workflow's: a page's rows are too many to name.
                        // Pages of different workflows can write one record (Person pages include
                        // households while Household pages run): merged, the copy the store would
                        // have kept stays (CanonicalBatch.merge); in concurrent statements the row
                        // lock orders them and the later one's edges replace the earlier one's
                        // (migration 0004).
                        try await context.journal.commit(
                            workflowID: workflowID, step: workflow.nextStep, kind: "page", runID: context.run.id,
                            fence: context.fence, page: batch,
                            conflictKey: "page/\(workflowID)", record: EntityStep.page(committed)
                        )
                    }
                    workflow.apply(.page(committed))
                    NodeMetrics.pageCommitted(rows: committed.rowsWritten, counters: committed.counters)
                    return
                }
            }
        case .runPartitions(let count):
            guard let plan = workflow.plan else { preconditionFailure("partitions without a plan in \(workflowID)") }
            let summary = try await runPartitions(count: count, of: plan)
            if let failure = summary.failure {
                try await fail(&workflow, reason: failure, logger: logger)
                return
            }
            try await commit(.partitionsCompleted(summary.totals), step: workflow.nextStep)
            workflow.apply(.partitionsCompleted(summary.totals))
        case .reconcile:
            let table = try kind().table
            let orgID = context.run.orgID
            let cutoff = context.run.startedAt ?? context.run.createdAt
            let logger = logger
            let deleted = try await commit(step: workflow.nextStep, kind: "reconciled", effect: { connection in
                // Rows this run did not touch were not seen by the completed pass: gone at the source.
                let rows = try await connection.queryUnlessClosed(PostgresQuery(unsafeSQL: """
                    UPDATE \(table) SET deleted_at = now()
                    WHERE org_id = $1 AND deleted_at IS NULL AND synced_at < $2
                    RETURNING 1
                    """, binds: try postgresBindings(orgID, cutoff)), logger: logger)
                var count = 0
                for try await _ in rows { count += 1 }
                return count
            }, record: { EntityStep.reconciled(softDeleted: $0) })
            workflow.apply(.reconciled(softDeleted: deleted))
        case .complete(let watermark):
            let orgID = context.run.orgID
            let entity = context.entity.name
            let fullPass = workflow.plan?.phases.contains(.reconcile) ?? false
            let runID = context.run.id
            let watermarkDate = watermark.map { Date(timeIntervalSince1970: TimeInterval($0.secondsSinceEpoch)) }
            let completed = EntityStep.completed(watermark: watermark)
            if partition != nil {
                // A partition's completion only ends its own workflow; the parent workflow owns the cursor.
                try await commit(completed, step: workflow.nextStep)
            } else {
                // One statement: the cursor upsert and the journal row commit together in one round trip.
                try await context.journal.commit(
                    workflowID: workflowID, step: workflow.nextStep, kind: completed.kind, runID: runID, fence: context.fence,
                    statement: """
                        INSERT INTO entity_cursors (org_id, entity, watermark, last_full_pass_at, last_full_pass_run)
                        VALUES (\(orgID), \(entity), \(watermarkDate), CASE WHEN \(fullPass) THEN now() END, CASE WHEN \(fullPass) THEN \(runID) END)
                        ON CONFLICT (org_id, entity) DO UPDATE SET
                            watermark = CASE WHEN excluded.watermark IS NULL THEN entity_cursors.watermark
                                             ELSE greatest(entity_cursors.watermark, excluded.watermark) END,
                            last_full_pass_at = coalesce(excluded.last_full_pass_at, entity_cursors.last_full_pass_at),
                            last_full_pass_run = coalesce(excluded.last_full_pass_run, entity_cursors.last_full_pass_run),
                            updated_at = now()
                        """,
                    conflictKey: "entity_cursors/\(orgID)/\(entity)", record: completed)
            }
            workflow.apply(.completed(watermark: watermark))
        case .finished:
            return
        }
    }

    /// Runs every partition workflow concurrently to its end and adds them up. A partition that fails
    /// makes the parent fail; an interruption or lost ownership is rethrown once all have stopped.
    private func runPartitions(count: Int, of plan: EntitySyncPlan) async throws -> (totals: PartitionSummary, failure: String?) {
        let context = self.context
        let results = try await withThrowingTaskGroup(of: EntityWorkflow.self, returning: [EntityWorkflow].self) { group in
            for index in 0..<count {
                group.addTask { try await EntitySyncRunner(context: context, partition: (index, plan.partition(index))).run() }
            }
            var finished: [EntityWorkflow] = []
            var firstError: (any Error)?
            while let next = await group.nextResult() {
                switch next {
                case .success(let workflow): finished.append(workflow)
                case .failure(let error): firstError = firstError ?? error
                }
            }
            if let firstError { throw firstError }
            return finished
        }
        var totals = PartitionSummary(partitions: count, pages: 0, fetched: 0, rowsWritten: 0, counters: RequestCounters())
        var failure: String?
        for workflow in results {
            totals.pages += workflow.pages
            totals.fetched += workflow.fetched
            totals.rowsWritten += workflow.rowsWritten
            totals.counters = totals.counters + workflow.counters
            if case .failed(let reason) = workflow.status { failure = failure ?? reason }
        }
        return (totals, failure)
    }

    private func fail(_ workflow: inout EntityWorkflow, reason: String, logger: Logger) async throws {
        logger.error("entity sync failed", metadata: ["sync.reason": "\(reason)"])
        try await commit(.failed(reason: reason), step: workflow.nextStep)
        workflow.apply(.failed(reason: reason))
    }

    /// Journals a step without an effect of its own (one statement).
    private func commit(_ step: EntityStep, step number: Int) async throws {
        try await context.journal.commit(workflowID: workflowID, step: number, kind: step.kind, runID: context.run.id,
                                         fence: context.fence, record: step)
    }

    @discardableResult
    private func commit<Result: Sendable>(
        step: Int, kind: String, effect: @escaping @Sendable (PostgresConnection) async throws -> Result,
        record: @escaping @Sendable (Result) -> EntityStep
    ) async throws -> Result {
        try await context.journal.commit(workflowID: workflowID, step: step, kind: kind, runID: context.run.id,
                                         fence: context.fence, effect: effect, record: record)
    }

    /// Retries a read of the journal while Postgres is unreachable (bounded).
    private func retryingStorage<T>(logger: Logger, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do { return try await body() } catch {
                attempt += 1
                guard attempt < 20 else { throw error }
                logger.warning("journal unreadable, retrying", metadata: ["sync.error": "\(describePostgresError(error))"])
                try await Task.sleep(for: .milliseconds(250 * attempt))
            }
        }
    }

    private func kind() throws -> CanonicalKind {
        guard let kind = CanonicalKind(rawValue: context.entity.name) else {
            throw JournalError(code: .invalidState, workflowID: workflowID, detail: "entity \(context.entity.name) has no canonical table")
        }
        return kind
    }

    private func parentTypeName(_ parent: String) -> String {
        context.transformer.manifest.entity(named: parent)?.primaryTypeName ?? parent
    }

    private func path(for request: PageRequest) -> String {
        request.parentID.map { context.entity.endpoint.path(parentID: $0) } ?? context.entity.endpoint.path
    }

    private func query(for request: PageRequest) -> [PCOQueryItem] {
        var items = [PCOQueryItem("per_page", String(request.perPage)), PCOQueryItem("offset", String(request.offset))]
        if !context.entity.endpoint.defaultInclude.isEmpty {
            items.append(PCOQueryItem("include", context.entity.endpoint.defaultInclude.joined(separator: ",")))
        }
        items += request.query.map { PCOQueryItem($0.name, $0.value) }
        return items
    }

    /// The plan, from the stored watermark and (for nested entities) the parents synced so far.
    private func makePlan() async throws -> EntitySyncPlan {
        let entity = context.entity
        let orgID = context.run.orgID
        let started = context.run.startedAt ?? context.run.createdAt
        let logger = context.logger
        let watermark = try await context.journal.client.queryUnlessClosed("""
            SELECT watermark FROM entity_cursors WHERE org_id = \(orgID) AND entity = \(entity.name)
            """, logger: logger).decode(Date?.self).first.flatMap { $0 }
        var parentIDs: [String]?
        if let parent = entity.endpoint.parent,
           let parentKind = CanonicalKind(rawValue: parent),
           let parentEntity = context.transformer.manifest.entity(named: parent) {
            let rows = try await context.journal.client.queryUnlessClosed(PostgresQuery(unsafeSQL: """
                SELECT l.external_id FROM external_links l JOIN \(parentKind.table) p ON p.id = l.internal_id
                WHERE l.org_id = $1 AND l.adapter = $2 AND l.external_type = $3 AND p.deleted_at IS NULL
                ORDER BY length(l.external_id), l.external_id
                """, binds: try postgresBindings(orgID, context.transformer.manifest.adapter, parentEntity.primaryTypeName)), logger: logger)
            parentIDs = try rows.decode(String.self)
        }
        let plan = EntitySyncPlan.make(
            entity: entity, strategy: context.run.strategy,
            watermark: watermark.map { UTCTimestamp(secondsSinceEpoch: Int64($0.timeIntervalSince1970)) },
            runStartedAt: UTCTimestamp(secondsSinceEpoch: Int64(started.timeIntervalSince1970)),
            overlapSeconds: context.overlapSeconds, parentIDs: parentIDs, nestedPartitions: context.nestedPartitions
        )
        guard context.createdAtSplit.applies(to: plan, of: entity) else { return plan }
        return try await splitByCreatedAt(plan)
    }

    /// Probes the listing ordered by `created_at` (one record a request) for the split's boundaries:
    /// first both ends (the total, and whether every record has a `created_at`), then the offsets
    /// ``CreatedAtSplit/probeOffsets(totalCount:)`` names. Made before step 0 is journaled, so a
    /// crash here only means probing again. The split only saves time, so a probe the API refuses
    /// (other than for a transient reason, which the step retries) leaves the listing unsplit.
    private func splitByCreatedAt(_ plan: EntitySyncPlan) async throws -> EntitySyncPlan {
        let split = context.createdAtSplit
        let path = context.entity.endpoint.path
        let logger = context.logger
        func probe(offset: Int, descending: Bool = false) async throws -> (total: Int?, createdAt: UTCTimestamp?) {
            let (_, document) = try await context.client.getDocument(path: path, query: [
                PCOQueryItem("per_page", "1"), PCOQueryItem("offset", String(offset)),
                PCOQueryItem("order", (descending ? "-" : "") + CreatedAtSplit.attribute),
            ])
            let createdAt = document.resources.first?.attributes[CreatedAtSplit.attribute]?.stringValue.flatMap(UTCTimestamp.init(iso8601:))
            return (document.meta?.totalCount, createdAt)
        }
        do {
            let first = try await probe(offset: 0)
            guard let total = first.total, !split.probeOffsets(totalCount: total).isEmpty else { return plan }
            let last = try await probe(offset: 0, descending: true).createdAt
            var probed: [UTCTimestamp?] = []
            if first.createdAt != nil, last != nil {
                for offset in split.probeOffsets(totalCount: total) { probed.append(try await probe(offset: offset).createdAt) }
            }
            let boundaries = CreatedAtSplit.boundaries(from: probed, ends: (first.createdAt, last))
            if boundaries.isEmpty {
                logger.info("listing not split by created_at: a record without created_at, or all created in one second",
                            metadata: ["sync.entity": "\(context.entity.name)", "sync.total": "\(total)"])
            } else {
                logger.debug("listing split by created_at", metadata: [
                    "sync.entity": "\(context.entity.name)", "sync.total": "\(total)", "sync.boundaries": "\(boundaries)",
                ])
            }
            return plan.splitByCreatedAt(at: boundaries, listedTotal: total)
        } catch let error as PCORequestError where !error.isTransient {
            logger.warning("listing not split by created_at: a probe was refused", metadata: [
                "sync.entity": "\(context.entity.name)", "sync.error": "\(error)",
            ])
            return plan
        }
    }
}
