/// Decides which journal commits go to Postgres together (group commit).
///
/// Each commit is a statement, a round trip and a WAL flush; on two cores the per-statement cost of
/// client and server, not the flush, is what bounds steps per second. Commits that arrive while
/// `maximumInFlight` batches are already being written wait, and when a batch finishes the waiting
/// ones leave together as the next batch (up to `maximumBatch`), in one statement. A commit that
/// arrives when a slot is free leaves at once, alone: there is no timer, so a lone workflow's step is
/// never delayed waiting for company.
///
/// Two commits with the same conflict key never share a batch: their effects would run in one
/// statement under one snapshot, where Postgres applies only one of two updates of the same row.
/// A commit whose effect might touch a row another commit touches must name that row in its key.
/// (Two batches in flight at once may hold the same key: their statements then queue on the row's
/// lock, as two single commits would, or at worst deadlock, which Postgres breaks by refusing one,
/// and the committer writes a refused batch's commits again one by one.)
///
/// Pure: the shell (`GroupCommitter` in SyncPostgres) performs the `send` actions and reports each
/// batch's end through ``batchFinished()``.
public struct GroupCommitQueue<Ticket: Hashable & Sendable>: Sendable {
    public enum Action: Sendable, Hashable {
        /// Write these commits now, as one batch, in this order.
        case send([Ticket])
        /// Nothing to write yet: every slot is busy (or nothing waits).
        case wait
    }

    private struct Waiting: Sendable {
        var ticket: Ticket
        var conflictKey: String?
    }

    public let maximumInFlight: Int
    public let maximumBatch: Int
    /// Batches sent and not yet reported finished.
    public private(set) var inFlight = 0
    private var waiting: [Waiting] = []

    public init(maximumInFlight: Int, maximumBatch: Int) {
        precondition(maximumInFlight >= 1 && maximumBatch >= 1, "a group commit queue needs at least one slot and one commit per batch")
        self.maximumInFlight = maximumInFlight
        self.maximumBatch = maximumBatch
    }

    /// Commits waiting for a slot.
    public var waitingCount: Int { waiting.count }

    /// A commit arrives. It leaves at once (with whatever else waits) when a slot is free.
    public mutating func submit(_ ticket: Ticket, conflictKey: String?) -> Action {
        waiting.append(Waiting(ticket: ticket, conflictKey: conflictKey))
        return nextBatch()
    }

    /// A batch sent earlier has its outcome (success or failure alike): its slot is free again.
    public mutating func batchFinished() -> Action {
        precondition(inFlight > 0, "batchFinished without a batch in flight")
        inFlight -= 1
        return nextBatch()
    }

    /// The oldest waiting commits, up to `maximumBatch`, skipping (and keeping, in order) any whose
    /// conflict key is already in the batch.
    private mutating func nextBatch() -> Action {
        guard inFlight < maximumInFlight, !waiting.isEmpty else { return .wait }
        var batch: [Ticket] = []
        var keys: Set<String> = []
        var kept: [Waiting] = []
        for entry in waiting {
            if batch.count < maximumBatch, entry.conflictKey.map({ keys.insert($0).inserted }) ?? true {
                batch.append(entry.ticket)
            } else {
                kept.append(entry)
            }
        }
        waiting = kept
        inFlight += 1
        return .send(batch)
    }
}
