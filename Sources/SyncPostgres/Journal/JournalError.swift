/// Why a journaled write did not (or may not have) happened, sorted into the three buckets of the
/// failure model (DESIGN §6): not committed (retry), ownership lost (stop the shard), outcome unknown
/// (read the journal before retrying).
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The transaction rolled back; retrying is safe.
        case notCommitted = "not_committed"
        /// The shard's fence epoch (or the leader term) moved on: another owner took over. Stop writing.
        case ownershipLost = "ownership_lost"
        /// The connection failed around COMMIT: the step may or may not be in the journal.
        case outcomeUnknown = "outcome_unknown"
        /// The step row already exists: an earlier attempt committed it.
        case alreadyCommitted = "already_committed"
        /// A run or workflow that does not exist or is in the wrong state.
        case invalidState = "invalid_state"
    }

    public var code: Code
    public var workflowID: String
    public var step: Int?
    public var detail: String

    public init(code: Code, workflowID: String, step: Int? = nil, detail: String) {
        self.code = code
        self.workflowID = workflowID
        self.step = step
        self.detail = detail
    }

    public var description: String {
        "workflow \(workflowID)\(step.map { " step \($0)" } ?? ""): \(detail) [\(code.rawValue)]"
    }
}

/// The authority a write is made under: a shard's fence epoch (entity workflows) or the leader
/// term (the orchestrator). The check happens inside the write's transaction.
public enum WriteFence: Sendable, Hashable, CustomStringConvertible {
    case shard(Int, epoch: Int64)
    case leader(term: Int64)

    public var description: String {
        switch self {
        case .shard(let shard, let epoch): "shard \(shard) epoch \(epoch)"
        case .leader(let term): "leader term \(term)"
        }
    }
}
