import Synchronization

/// What each entity workflow running on this node is doing right now, and since when.
///
/// It answers the operator's question "why does this shard not stop" (the cluster agent logs it with
/// the stuck-workflow warning) and feeds the slow-step watchdog, which warns once about a workflow
/// that has stayed in one phase for longer than a bound. Workflows write their own entry, under the
/// token ``began(_:shard:epoch:)`` gave them: a workflow given up on and started again under the
/// same id has two entries, and the old one ending does not remove the new one. Readers take
/// snapshots. Time comes from the clock given at creation.
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

    /// One run of a workflow on this node.
    public struct Token: Sendable, Hashable {
        let value: UInt64
    }

    private struct Record {
        var workflowID: String
        var shard: Int?
        var epoch: Int64?
        var phase: String
        var since: ContinuousClock.Instant
        /// Set once the watchdog has warned about this phase, so it warns once per phase.
        var reported = false
        /// Whether the watchdog looks at this phase (not for a parent waiting on its partitions,
        /// which legitimately lasts as long as they do).
        var watched = true
    }

    private struct State {
        var records: [Token: Record] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    /// A workflow starts (or resumes) on this node; its entry lives until ``ended(_:)`` with the token.
    func began(_ workflowID: String, shard: Int?, epoch: Int64?) -> Token {
        let instant = now()
        return state.withLock { state in
            let token = Token(value: state.nextToken)
            state.nextToken += 1
            state.records[token] = Record(workflowID: workflowID, shard: shard, epoch: epoch, phase: "replaying the journal", since: instant)
            return token
        }
    }

    /// A workflow moves to another phase; `watched: false` keeps the watchdog off it.
    func entered(_ phase: String, _ token: Token, watched: Bool = true) {
        let instant = now()
        state.withLock { state in
            guard state.records[token] != nil else { return }
            state.records[token]?.phase = phase
            state.records[token]?.since = instant
            state.records[token]?.reported = false
            state.records[token]?.watched = watched
        }
    }

    /// A workflow returned or threw.
    func ended(_ token: Token) { state.withLock { _ = $0.records.removeValue(forKey: token) } }

    /// Every workflow running here, longest in its phase first; only those of `shard` when given.
    public func snapshot(shard: Int? = nil) -> [Entry] {
        let instant = now()
        return state.withLock { state in
            state.records.values.compactMap { record in
                guard shard == nil || record.shard == shard else { return nil }
                return Entry(workflowID: record.workflowID, shard: record.shard, epoch: record.epoch, phase: record.phase,
                             secondsInPhase: Self.seconds(instant - record.since))
            }
        }.sorted { ($0.secondsInPhase, $0.workflowID) > ($1.secondsInPhase, $1.workflowID) }
    }

    /// Workflows in one phase for longer than `bound` that have not been reported yet; marks them reported.
    func takeNewlySlow(bound: Duration) -> [Entry] {
        let instant = now()
        return state.withLock { state in
            var slow: [Entry] = []
            for (token, record) in state.records where record.watched && !record.reported && instant - record.since > bound {
                state.records[token]?.reported = true
                slow.append(Entry(workflowID: record.workflowID, shard: record.shard, epoch: record.epoch, phase: record.phase,
                                  secondsInPhase: Self.seconds(instant - record.since)))
            }
            return slow.sorted { $0.workflowID < $1.workflowID }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
