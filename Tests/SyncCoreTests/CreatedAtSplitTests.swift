import Foundation
import Testing
@testable import SyncCore

@Suite("Splitting a listing by created_at")
struct CreatedAtSplitTests {
    static let start = EntityWorkflowTests.start

    static func splittable(perPage: Int = 4) -> EntityDefinition {
        EntityWorkflowTests.entity(["updated_at", "created_at"], orderable: ["updated_at", "created_at"], perPage: perPage)
    }

    static func fullPlan(_ entity: EntityDefinition) -> EntitySyncPlan {
        EntitySyncPlan.make(entity: entity, strategy: .full, watermark: nil, runStartedAt: start, overlapSeconds: 60, parentIDs: nil)
    }

    @Test("probe offsets divide the listing evenly, and a small listing is not split")
    func probeOffsets() {
        let split = CreatedAtSplit(maximumPartitions: 4)
        #expect(split.probeOffsets(totalCount: 2_000) == [500, 1_000, 1_500])
        #expect(split.probeOffsets(totalCount: 100_000) == [25_000, 50_000, 75_000])
        #expect(split.probeOffsets(totalCount: 1_000) == [500], "two partitions of at least 500 records")
        #expect(split.probeOffsets(totalCount: 999).isEmpty)
        #expect(split.probeOffsets(totalCount: 0).isEmpty)
        #expect(CreatedAtSplit.off.probeOffsets(totalCount: 100_000).isEmpty)
    }

    @Test("boundaries are strictly increasing: ties collapse, unknowns drop out")
    func boundaries() {
        let t = (0..<4).map { Self.start.adding(seconds: Int64($0) * 10) }
        let ends = (first: Optional(t[0]), last: Optional(t[3]))
        #expect(CreatedAtSplit.boundaries(from: [t[1], t[1], nil, t[3], t[2]], ends: ends) == [t[1], t[3]])
        #expect(CreatedAtSplit.boundaries(from: [nil, nil], ends: ends).isEmpty)
        #expect(CreatedAtSplit.boundaries(from: [t[0], t[1], t[2]], ends: ends) == [t[0], t[1], t[2]])
    }

    @Test("a listing with a record without created_at at either end is not split: no range would list it")
    func recordWithoutCreatedAt() {
        let t = (1...3).map { Self.start.adding(seconds: Int64($0)) }
        #expect(CreatedAtSplit.boundaries(from: t, ends: (nil, t[2])).isEmpty, "sorted first (nulls first)")
        #expect(CreatedAtSplit.boundaries(from: t, ends: (t[0], nil)).isEmpty, "sorted last (nulls last)")
    }

    @Test("only a top-level listing that lists every record and can filter and order by created_at is split")
    func applies() {
        let split = CreatedAtSplit(maximumPartitions: 4)
        let entity = Self.splittable()
        #expect(split.applies(to: Self.fullPlan(entity), of: entity))
        #expect(!CreatedAtSplit.off.applies(to: Self.fullPlan(entity), of: entity))
        let delta = EntitySyncPlan.make(entity: entity, strategy: .delta, watermark: Self.start, runStartedAt: Self.start,
                                        overlapSeconds: 60, parentIDs: nil)
        #expect(!split.applies(to: delta, of: entity), "a delta lists changes only")
        let unfilterable = EntityWorkflowTests.entity(["updated_at"], orderable: ["updated_at", "created_at"])
        #expect(!split.applies(to: Self.fullPlan(unfilterable), of: unfilterable), "no where[created_at] (PCO's Address)")
        let nested = EntityWorkflowTests.entity(["created_at"], orderable: ["created_at"], hasUpdatedAt: false, parent: "Parent")
        let nestedPlan = EntitySyncPlan.make(entity: nested, strategy: .full, watermark: nil, runStartedAt: Self.start,
                                             overlapSeconds: 0, parentIDs: ["a", "b"])
        #expect(!split.applies(to: nestedPlan, of: nested))
    }

    @Test("partitions get adjacent half-open ranges, open at both ends, and no reconciliation")
    func partitionRanges() {
        let b = [Self.start.adding(seconds: -300), Self.start.adding(seconds: -200)]
        let plan = Self.fullPlan(Self.splittable()).splitByCreatedAt(at: b, listedTotal: 1_234)
        #expect(plan.partitions == 3)
        #expect(plan.partition(0).createdAtRange == CreatedAtRange(lower: nil, upper: b[0]))
        #expect(plan.partition(1).createdAtRange == CreatedAtRange(lower: b[0], upper: b[1]))
        #expect(plan.partition(2).createdAtRange == CreatedAtRange(lower: b[1], upper: nil))
        #expect((0..<3).allSatisfy { !plan.partition($0).phases.contains(.reconcile) && plan.partition($0).partitions == 1 })
        #expect(plan.partition(1).createdAtRange?.queryParameters == [
            QueryParameter("where[created_at][gte]", b[0].iso8601), QueryParameter("where[created_at][lt]", b[1].iso8601),
        ])
        #expect(Self.fullPlan(Self.splittable()).splitByCreatedAt(at: [], listedTotal: 10).partitions == 1, "no boundary, no split")
        // The plan is journaled as step 0: it must come back from JSON exactly.
        let decoded = try? JSONDecoder().decode(EntitySyncPlan.self, from: JSONEncoder().encode(plan))
        #expect(decoded == plan)
        #expect(EntityWorkflow.replay([.planned(plan)]).expectedRecords == 1_234, "the listed total is the progress denominator")
    }

    @Test("an unsplit plan is journaled with the keys it had before splitting existed, so either version reads the other's")
    func unsplitPlanKeepsItsShape() throws {
        let plan = Self.fullPlan(Self.splittable())
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan)) as? [String: Any])
        #expect(Set(object.keys) == ["entity", "strategy", "phases", "runStartedAt", "perPage", "completionWatermark", "partitions"])
        let decoded = try JSONDecoder().decode(EntitySyncPlan.self, from: JSONEncoder().encode(plan))
        #expect(decoded == plan && decoded.createdAtBoundaries == nil && decoded.createdAtRange == nil && decoded.listedTotal == nil)
    }

    /// Records of a fake listing: id, created_at and updated_at in seconds.
    struct Record { var id: Int; var created: Int64; var updated: Int64 }

    /// Serves `request` from `records` as the API would: filtered by its where parameters, in id order.
    static func serve(_ request: PageRequest, from records: [Record]) -> PageSummary {
        func bound(_ name: String) -> Int64? {
            request.query.first { $0.name == name }.flatMap { UTCTimestamp(iso8601: $0.value)?.secondsSinceEpoch }
        }
        let selected = records.filter { record in
            (bound("where[created_at][gte]").map { record.created >= $0 } ?? true)
                && (bound("where[created_at][lt]").map { record.created < $0 } ?? true)
                && (bound("where[updated_at][gte]").map { record.updated >= $0 } ?? true)
        }.sorted { $0.id < $1.id }
        let page = Array(selected.dropFirst(request.offset).prefix(request.perPage))
        return PageSummary(ids: page.map { String($0.id) }, updatedAts: page.map { UTCTimestamp(secondsSinceEpoch: $0.updated) },
                           hasNext: request.offset + request.perPage < selected.count, totalCount: selected.count)
    }

    @Test("a split full sync reads every record exactly once in its pass, ties at a boundary included, then reconciles once")
    func splitRunCoversEveryRecordOnce() {
        let base = Self.start.secondsSinceEpoch - 10_000
        // Ids out of created_at order, several records per second, some exactly on the boundaries.
        let records = (1...53).map { id in Record(id: id, created: base + Int64((id * 7) % 20), updated: base) }
        let b = [UTCTimestamp(secondsSinceEpoch: base + 5), UTCTimestamp(secondsSinceEpoch: base + 12)]
        let plan = Self.fullPlan(Self.splittable()).splitByCreatedAt(at: b, listedTotal: records.count)
        // Ids each partition's pass read, by its lower bound; every record must be in exactly one.
        var byPartition: [String: Set<String>] = [:]
        var fetched = 0
        let journal = EntityWorkflowTests.run(plan, serve: { request in
            let page = Self.serve(request, from: records)
            if request.phase == .pass {
                let lower = request.query.first { $0.name == "where[created_at][gte]" }?.value ?? "open"
                byPartition[lower, default: []].formUnion(page.ids)
            }
            return page
        }, committedPage: { fetched += $0.ids.count })
        #expect(journal.map(\.kind) == ["planned", "partitions_completed", "reconciled", "completed"])
        #expect(byPartition.count == 3)
        let parts = Array(byPartition.values)
        #expect(parts.reduce(0) { $0 + $1.count } == records.count, "no record in two partitions")
        #expect(parts.reduce(Set<String>()) { $0.union($1) } == Set(records.map { String($0.id) }), "no record missed")
        #expect(byPartition[b[1].iso8601]?.contains("16") == true && byPartition[b[0].iso8601]?.contains("15") == true, "created exactly at a boundary: in the range it starts")
        let replayed = EntityWorkflow.replay(journal)
        #expect(replayed.status == .completed)
        #expect(replayed.fetched == fetched)
    }
}
