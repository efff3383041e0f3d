import Synchronization

/// What each entity workflow running on this node is doing right now, and since when.
///
/// It answers the operator's question "why does this shard not stop" (the cluster agent logs it with
/// the stuck-workflow warning) and feeds the slow-step watchdog, which warns once about a workflow
/// that has stayed in one phase for longer than a bound. Workflows write their own entry; readers
/// take snapshots. Time comes from the clock given at creation.
public final class WorkflowActivity: Sendable {
    public struct Entry: Sendable, Hashable, Codable {
        public var workflowID: String
        public var shard: Int?
        public var epoch: Int64?
        /// What the workflow is doing, e.g. `fetching offset 300` or `committing step 4`.
        public var phase: String
        /// Seconds spent in the current phase, at the time of the snapshot.
        public var secondsInPhase: Double
    }

    private struct Record {
        var shard: Int?
        var epoch: Int64?
        var phase: String
        var since: ContinuousClock.Instant
        /// Set once the watchdog has warned about this phase, so it warns once per phase.
        var reported = false
    }

    private let records = Mutex<[String: Record]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    /// A workflow starts (or resumes) on this node.
    func began(_ workflowID: String, shard: Int?, epoch: Int64?) {
        let instant = now()
        records.withLock { $0[workflowID] = Record(shard: shard, epoch: epoch, phase: "replaying the journal", since: instant) }
    }

    /// A workflow moves to another phase.
    func entered(_ phase: String, workflowID: String) {
        let instant = now()
        records.withLock { records in
            guard records[workflowID] != nil else { return }
            records[workflowID]?.phase = phase
            records[workflowID]?.since = instant
            records[workflowID]?.reported = false
        }
    }

    /// A workflow returned or threw.
    func ended(_ workflowID: String) { records.withLock { _ = $0.removeValue(forKey: workflowID) } }

    /// Every workflow running here, longest in its phase first; only those of `shard` when given.
    public func snapshot(shard: Int? = nil) -> [Entry] {
        let instant = now()
        return records.withLock { records in
            records.compactMap { id, record in
                guard shard == nil || record.shard == shard else { return nil }
                return Entry(workflowID: id, shard: record.shard, epoch: record.epoch, phase: record.phase,
                             secondsInPhase: Self.seconds(instant - record.since))
            }
        }.sorted { ($0.secondsInPhase, $0.workflowID) > ($1.secondsInPhase, $1.workflowID) }
    }

    /// Workflows in one phase for longer than `bound` that have not been reported yet; marks them reported.
    func takeNewlySlow(bound: Duration) -> [Entry] {
        let instant = now()
        return records.withLock { records in
            var slow: [Entry] = []
            for (id, record) in records where !record.reported && instant - record.since > bound {
                records[id]?.reported = true
                slow.append(Entry(workflowID: id, shard: record.shard, epoch: record.epoch, phase: record.phase,
                                  secondsInPhase: Self.seconds(instant - record.since)))
            }
            return slow.sorted { $0.workflowID < $1.workflowID }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
