/// A mutation that was applied, with the webhook events it produces.
struct AppliedMutation: Sendable {
    var change: MutationChange
    var kind: ResourceKind
    /// The resource document at the moment of the change (nil for destroyed records), for webhooks.
    var payload: [UInt8]?
    var eventTime: Int64
}

/// One organization's live data: the single owner of its ``OrgData``.
///
/// Reads (page renders) run concurrently under a reader-writer lock; mutations take it exclusively
/// and never suspend while holding it. Timestamps come from the injected clock and only move forward.
final class OrgStore: @unchecked Sendable {
    let org: SimulatedOrg
    private let lock = ReadWriteLock()
    private var data: OrgData
    private var applier: MutationApplier
    /// The last `updated_at` issued: new ones are never below it (the simulator clock only moves forward).
    private var lastStamp: Int64
    private let clock: any SimulatorClock
    /// Numbers webhook events, for their idempotency tokens.
    private var eventCounter = 0

    private struct SelectionKey: Hashable {
        var kind: ResourceKind
        var filters: [ListQuery.Filter]
        var order: ListQuery.Order?
    }

    /// Whole-table selections (filtered, ordered), valid while the kind's version is unchanged: the
    /// pages of one listing share them, so a page costs a slice, not a scan and a sort of the table.
    private let selectionCache = Locked<[SelectionKey: (version: Int, ids: [Int])]>([:])
    /// Distinct selections kept; the cache starts over beyond it (a sync uses a few dozen).
    private static let selectionCacheCapacity = 256

    init(org: SimulatedOrg, data: OrgData, mutationSeed: UInt64, referenceTime: Int64, clock: any SimulatorClock) {
        self.org = org
        self.data = data
        self.clock = clock
        self.lastStamp = data.latestTimestamp()
        self.applier = MutationApplier(seed: mutationSeed, orgID: org.id, referenceTime: referenceTime, timeZone: org.timeZone)
    }

    /// Runs `body` with a consistent view of the data and the (cached) whole-table selection of a
    /// query; many readers may run at once.
    func read<T, E: Error>(_ body: (OrgData, @escaping (ResourceKind, ListQuery) -> [Int]) throws(E) -> T) throws(E) -> T {
        try lock.withReadLock { () throws(E) -> T in
            let snapshot = data
            return try body(snapshot) { kind, query in self.wholeTable(snapshot, kind, query) }
        }
    }

    private func wholeTable(_ data: OrgData, _ kind: ResourceKind, _ query: ListQuery) -> [Int] {
        if query.filters.isEmpty, query.order == nil { return data.table(kind).sortedIDs }
        let key = SelectionKey(kind: kind, filters: query.filters, order: query.order)
        let version = data.versions[kind.rawValue]
        if let cached = selectionCache.withLock({ $0[key] }), cached.version == version { return cached.ids }
        let ids = RecordSelection(data: data, kind: kind).select(data.table(kind).sortedIDs, query: query)
        selectionCache.withLock { cache in
            if cache.count >= Self.selectionCacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = (version, ids)
        }
        return ids
    }

    /// The next `updated_at`: the current second, or the last one issued if the clock is behind it.
    private func nextStamp() -> Int64 {
        let now = Int64(clock.wallSeconds().rounded(.down))
        lastStamp = max(lastStamp, now)
        return lastStamp
    }

    /// Applies the requests in order, atomically with respect to readers.
    func mutate(_ requests: [MutationRequest], renderPayloads: Bool) throws(MutationError) -> [AppliedMutation] {
        try lock.withWriteLock { () throws(MutationError) -> [AppliedMutation] in
            var applied: [AppliedMutation] = []
            for request in requests {
                applied += try applyLocked(request, with: &applier, renderPayloads: renderPayloads)
            }
            return applied
        }
    }

    /// `count` random mutations; with a seed, a reproducible sequence independent of earlier ones.
    func randomMutations(count: Int, seed: UInt64?, renderPayloads: Bool) -> [AppliedMutation] {
        lock.withWriteLock {
            var seeded = seed.map { MutationApplier(seed: $0, orgID: org.id, referenceTime: lastStamp, timeZone: org.timeZone) }
            var applied: [AppliedMutation] = []
            for _ in 0 ..< count {
                // A random request can fail (nothing left to delete); it is skipped, as a user would.
                if seeded != nil {
                    let request = seeded!.randomRequest(data)
                    if let result = try? applyLocked(request, with: &seeded!, renderPayloads: renderPayloads) { applied += result }
                } else {
                    let request = applier.randomRequest(data)
                    if let result = try? applyLocked(request, with: &applier, renderPayloads: renderPayloads) { applied += result }
                }
            }
            return applied
        }
    }

    /// Must be called under the write lock.
    private func applyLocked(_ request: MutationRequest, with applier: inout MutationApplier, renderPayloads: Bool) throws(MutationError) -> [AppliedMutation] {
        let now = nextStamp()
        let changes = try applier.apply(request, to: &data, now: now)
        return changes.map { change in
            eventCounter += 1
            let kind = ResourceKind(entityName: change.type)!
            var payload: [UInt8]?
            if renderPayloads, change.action != .destroyed, let id = Int(change.id), let record = data.record(kind, id) {
                let renderer = DocumentRenderer(data: data, org: org, baseURL: "https://api.planningcenteronline.com", version: .current)
                payload = renderer.webhookPayload(kind: kind, record: record, id: id, destroyed: false, eventTime: now, idempotencyToken: "\(org.id)-\(change.type)-\(id)-\(now)-\(eventCounter)")
            }
            return AppliedMutation(change: change, kind: kind, payload: payload, eventTime: now)
        }
    }
}
