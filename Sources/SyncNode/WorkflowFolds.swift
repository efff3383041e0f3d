import SyncCore
import SyncPostgres
import Synchronization

/// Entity workflows folded from their journals, kept between status requests, so that each request
/// reads and decodes only the steps committed since the one before.
///
/// `GET /v1/runs/{id}` (and `syncengine sync --wait`, which asks twice a second) used to replay every
/// journal of the run from step 0: a run of a 5,000-people org has about 2,200 steps, and decoding
/// them took about 3 % of the node's CPU during a sync (perf, `cluster/bench/e2e-sync`), growing with
/// the org. Journal rows never change once committed, so a fold of the first n steps stays valid;
/// the workflow's next rows extend it. Least recently used entries go beyond `capacity` (a run has
/// one workflow per entity and per partition, about 30 for PCO; a fold holds its cursor, at most
/// a page's ids, so 1,024 folds are a few MB).
public final class WorkflowFolds: Sendable {
    /// A workflow's state after its first `workflow.nextStep` steps.
    public struct Fold: Sendable {
        public var workflow: EntityWorkflow
        /// Whether one of those steps added up the workflow's partitions.
        public var partitionsCompleted: Bool
    }

    private struct Entry {
        var fold: Fold
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var uses: UInt64 = 0
        var stepsRead = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 1_024) {
        precondition(capacity > 0, "a fold cache needs room for one workflow")
        self.capacity = capacity
    }

    /// Journal steps read (and decoded) through this cache so far.
    public var stepsRead: Int { state.withLock { $0.stepsRead } }

    /// The workflow folded over every step committed so far.
    public func fold(of workflowID: String, journal: JournalStore) async throws -> Fold {
        var fold = state.withLock { $0.entries[workflowID]?.fold } ?? Fold(workflow: EntityWorkflow(), partitionsCompleted: false)
        let newSteps = try await journal.steps(of: workflowID, from: fold.workflow.nextStep, as: EntityStep.self)
        for step in newSteps {
            fold.workflow.apply(step)
            if step.kind == "partitions_completed" { fold.partitionsCompleted = true }
        }
        state.withLock { state in
            state.uses += 1
            state.stepsRead += newSteps.count
            // A concurrent request may have folded further meanwhile: keep the longer fold.
            if let held = state.entries[workflowID], held.fold.workflow.nextStep > fold.workflow.nextStep {
                state.entries[workflowID]?.lastUsed = state.uses
                return
            }
            state.entries[workflowID] = Entry(fold: fold, lastUsed: state.uses)
            if state.entries.count > capacity {
                // Evict the least recently used half at once, so eviction is rare rather than per call.
                let keep = state.entries.sorted { $0.value.lastUsed > $1.value.lastUsed }.prefix(capacity / 2 + 1)
                state.entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
            }
        }
        return fold
    }
}
