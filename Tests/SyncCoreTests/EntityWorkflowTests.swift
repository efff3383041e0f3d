import Testing
@testable import SyncCore

@Suite("Entity-sync workflow state machine")
struct EntityWorkflowTests {
    static let start = UTCTimestamp(iso8601: "2026-01-01T12:00:00Z")!

    static func entity(_ filterable: Set<String> = ["updated_at"], orderable: Set<String> = ["updated_at"],
                       hasUpdatedAt: Bool = true, parent: String? = nil, perPage: Int = 4) -> EntityDefinition {
        EntityDefinition(
            name: "Thing", typeNames: ["Thing"],
            endpoint: ListEndpoint(path: parent == nil ? "/things" : "/parents/{parent_id}/things", parent: parent,
                                   perPage: perPage, filterable: filterable, orderable: orderable),
            hasUpdatedAt: hasUpdatedAt
        )
    }

    static func page(_ ids: [Int], next: Bool, updated: [Int64]? = nil) -> PageSummary {
        PageSummary(ids: ids.map(String.init), updatedAts: (updated ?? ids.map { _ in start.secondsSinceEpoch })
            .map { UTCTimestamp(secondsSinceEpoch: $0) }, hasNext: next)
    }

    /// Drives a workflow to the end against a list of pages per request offset; returns the journal.
    static func run(_ plan: EntitySyncPlan, serve: (PageRequest) -> PageSummary, stopAfter: Int = .max) -> [EntityStep] {
        run(plan, serve: serve, committedPage: { _ in }, stopAfter: stopAfter)
    }

    static func run(_ plan: EntitySyncPlan, serve: (PageRequest) -> PageSummary, committedPage: (PageSummary) -> Void,
                    stopAfter: Int = .max) -> [EntityStep] {
        var workflow = EntityWorkflow()
        var journal: [EntityStep] = []
        func commit(_ step: EntityStep) { journal.append(step); workflow.apply(step) }
        var guardCount = 0
        while journal.count < stopAfter, guardCount < 1000 {
            guardCount += 1
            switch workflow.nextAction {
            case .plan: commit(.planned(plan))
            case .fetch(let request):
                var page = serve(request)
                var verdict = workflow.pageFetched(page, counters: RequestCounters(requests: 1))
                while case .refetch(let again) = verdict {
                    page = serve(again)
                    verdict = workflow.pageFetched(page, counters: RequestCounters(requests: 1))
                }
                guard case .commit(let record) = verdict else { continue }
                committedPage(page)
                commit(.page(record))
            case .runPartitions(let count):
                var totals = PartitionSummary(partitions: count, pages: 0, fetched: 0, rowsWritten: 0, counters: RequestCounters())
                for index in 0..<count {
                    let part = EntityWorkflow.replay(run(plan.partition(index), serve: serve, committedPage: committedPage))
                    totals.pages += part.pages
                    totals.fetched += part.fetched
                    totals.counters = totals.counters + part.counters
                }
                commit(.partitionsCompleted(totals))
            case .reconcile: commit(.reconciled(softDeleted: 0))
            case .complete(let watermark): commit(.completed(watermark: watermark))
            case .finished: return journal
            }
        }
        return journal
    }

    @Test("a full plan: pass, catch-up delta from the run start minus overlap, reconcile")
    func fullPlan() {
        let plan = EntitySyncPlan.make(entity: Self.entity(), strategy: .full, watermark: nil, runStartedAt: Self.start,
                                       overlapSeconds: 60, parentIDs: nil)
        #expect(plan.phases == [.pass, .delta(since: Self.start.adding(seconds: -60), method: .updatedAtFilter), .reconcile])
        #expect(plan.completionWatermark == Self.start.adding(seconds: -60))
        let noUpdatedAt = EntitySyncPlan.make(entity: Self.entity([], orderable: [], hasUpdatedAt: false), strategy: .delta,
                                              watermark: Self.start, runStartedAt: Self.start, overlapSeconds: 60, parentIDs: nil)
        #expect(noUpdatedAt.phases == [.pass, .reconcile], "no updated_at: a delta is a full refresh")
        #expect(noUpdatedAt.completionWatermark == nil)
        let delta = EntitySyncPlan.make(entity: Self.entity(), strategy: .delta, watermark: Self.start, runStartedAt: Self.start.adding(seconds: 999),
                                        overlapSeconds: 30, parentIDs: nil)
        #expect(delta.phases == [.delta(since: Self.start.adding(seconds: -30), method: .updatedAtFilter)])
    }

    @Test("pages overlap by one record and the pass covers every id exactly in order")
    func pagingCoversEverything() {
        let ids = Array(1...10)
        let plan = EntitySyncPlan(entity: "Thing", strategy: .reconcile, phases: [.pass], parentIDs: nil,
                                  runStartedAt: Self.start, perPage: 4, completionWatermark: nil)
        let journal = Self.run(plan) { request in
            let slice = Array(ids.dropFirst(request.offset).prefix(request.perPage))
            return Self.page(slice, next: request.offset + request.perPage < ids.count)
        }
        let offsets = journal.compactMap { step -> Int? in if case .page(let record) = step { record.request.offset } else { nil } }
        // 1-4, 4-7, 7-10: the server says no page follows the third.
        #expect(offsets == [0, 3, 6])
        let replayed = EntityWorkflow.replay(journal)
        #expect(replayed.status == .completed)
        #expect(replayed.pages == 3)
        #expect(replayed.fetched == 12)
        #expect(replayed.counters.requests == 3)
    }

    @Test("a shift caused by deletions ahead of the cursor is detected and the page re-read from further back")
    func deletionShiftDetected() {
        var source = Array(1...12)
        var deleted = false
        let plan = EntitySyncPlan(entity: "Thing", strategy: .reconcile, phases: [.pass], parentIDs: nil,
                                  runStartedAt: Self.start, perPage: 4, completionWatermark: nil)
        var seen: Set<Int> = []
        let journal = Self.run(plan, serve: { request in
            if request.offset > 0 && !deleted {
                source.removeAll { $0 == 1 || $0 == 2 }  // two records vanish behind the cursor
                deleted = true
            }
            let slice = Array(source.dropFirst(request.offset).prefix(request.perPage))
            return Self.page(slice, next: request.offset + request.perPage < source.count)
        }, committedPage: { page in seen.formUnion(page.ids.compactMap { Int($0) }) })
        #expect(journal.contains { if case .completed = $0 { true } else { false } })
        // Without the overlap check, records 5 and 6 would have been skipped.
        #expect(seen.isSuperset(of: Set(3...12)), "every surviving record was read: \(seen.sorted())")
    }

    @Test("descending early stop: the phase ends at the first record older than since")
    func earlyStop() {
        let since = Self.start.secondsSinceEpoch
        let plan = EntitySyncPlan(entity: "Thing", strategy: .delta,
                                  phases: [.delta(since: Self.start, method: .updatedAtDescendingEarlyStop)], parentIDs: nil,
                                  runStartedAt: Self.start, perPage: 4, completionWatermark: Self.start)
        var requests: [PageRequest] = []
        let journal = Self.run(plan) { request in
            requests.append(request)
            return Self.page([9, 8, 7, 6], next: true, updated: [since + 9, since + 5, since - 1, since - 2])
        }
        #expect(requests.count == 1)
        #expect(requests.first?.query == [QueryParameter("order", "-updated_at")])
        #expect(journal.last == .completed(watermark: Self.start))
    }

    @Test("nested endpoints are listed parent by parent; no parents means nothing to fetch")
    func nested() {
        let plan = EntitySyncPlan.make(entity: Self.entity([], orderable: [], hasUpdatedAt: false, parent: "Parent"), strategy: .full,
                                       watermark: nil, runStartedAt: Self.start, overlapSeconds: 0, parentIDs: ["a", "b"])
        var parents: [String?] = []
        _ = Self.run(plan) { request in
            parents.append(request.parentID)
            return Self.page([1], next: false)
        }
        #expect(parents == ["a", "b"])
        let empty = EntitySyncPlan.make(entity: Self.entity([], orderable: [], hasUpdatedAt: false, parent: "Parent"), strategy: .full,
                                        watermark: nil, runStartedAt: Self.start, overlapSeconds: 0, parentIDs: [])
        var fetched = 0
        let journal = Self.run(empty) { _ in fetched += 1; return Self.page([], next: false) }
        #expect(fetched == 0)
        #expect(journal.map(\.kind) == ["planned", "reconciled", "completed"])
    }

    @Test("a nested listing split into partitions covers every parent exactly once, then reconciles once")
    func partitions() {
        let parents = (1...11).map { "p\($0)" }
        let plan = EntitySyncPlan.make(entity: Self.entity([], orderable: [], hasUpdatedAt: false, parent: "Parent"), strategy: .full,
                                       watermark: nil, runStartedAt: Self.start, overlapSeconds: 0, parentIDs: parents, nestedPartitions: 4)
        #expect(plan.partitions == 4)
        #expect((0..<4).flatMap { plan.partition($0).parentIDs ?? [] }.sorted() == parents.sorted())
        #expect((0..<4).allSatisfy { plan.partition($0).phases == [.pass] && plan.partition($0).partitions == 1 })
        var listed: [String] = []
        let journal = Self.run(plan) { request in
            listed.append(request.parentID ?? "none")
            return Self.page([1, 2], next: false)
        }
        #expect(listed.sorted() == parents.sorted(), "each parent listed once")
        #expect(journal.map(\.kind) == ["planned", "partitions_completed", "reconciled", "completed"])
        let replayed = EntityWorkflow.replay(journal)
        #expect(replayed.status == .completed && replayed.pages == 11 && replayed.fetched == 22)
        let few = EntitySyncPlan.make(entity: Self.entity([], orderable: [], hasUpdatedAt: false, parent: "Parent"), strategy: .full,
                                      watermark: nil, runStartedAt: Self.start, overlapSeconds: 0, parentIDs: ["a"], nestedPartitions: 4)
        #expect(few.partitions == 1, "never more partitions than parents")
    }

    @Test("replaying any prefix of a journal resumes exactly where the live workflow was")
    func replayMatchesLive() {
        let ids = Array(1...23)
        let plan = EntitySyncPlan.make(entity: Self.entity(), strategy: .full, watermark: nil, runStartedAt: Self.start,
                                       overlapSeconds: 60, parentIDs: nil)
        let serve: (PageRequest) -> PageSummary = { request in
            Self.page(Array(ids.dropFirst(request.offset).prefix(request.perPage)), next: request.offset + request.perPage < ids.count)
        }
        let full = Self.run(plan, serve: serve)
        for cut in 0...full.count {
            var resumed = EntityWorkflow.replay(Array(full.prefix(cut)))
            var rest: [EntityStep] = []
            while rest.count < 100 {
                switch resumed.nextAction {
                case .plan: let step = EntityStep.planned(plan); rest.append(step); resumed.apply(step)
                case .fetch(let request):
                    guard case .commit(let record) = resumed.pageFetched(serve(request), counters: RequestCounters(requests: 1)) else {
                        Issue.record("unexpected refetch"); return
                    }
                    rest.append(.page(record)); resumed.apply(.page(record))
                case .reconcile: rest.append(.reconciled(softDeleted: 0)); resumed.apply(.reconciled(softDeleted: 0))
                case .runPartitions: Issue.record("a flat listing never partitions"); return
                case .complete(let watermark): rest.append(.completed(watermark: watermark)); resumed.apply(.completed(watermark: watermark))
                case .finished: break
                }
                if resumed.nextAction == .finished { break }
            }
            #expect(Array(full.prefix(cut)) + rest == full, "resuming after \(cut) steps diverged")
        }
    }
}
