import Logging
import PostgresNIO
import SyncCore
import Synchronization

/// Writes one-statement journal commits, several workflows' at a time (group commit).
///
/// ``GroupCommitQueue`` decides what leaves together; this writes each batch as ONE statement and
/// ONE transaction:
///
///     WITH effect_0 AS (<a plain effect>), effect_1_… AS (<the batch's pages, merged>)
///     INSERT INTO workflow_steps (…) SELECT … FROM unnest(<the rows of commits 0, 1, 2 as arrays>)
///
/// where every row holds its own fence (`sync_hold_shard_fence` / `sync_hold_leader_term`, which
/// raise when the epoch or term moved on). A batch is all or nothing, so a batch Postgres refused
/// (a stale fence, a step already journaled, an effect's own error) changed nothing, and each of its
/// commits is then written again on its own to learn its own outcome. A batch whose answer never
/// came (the connection closed) may have committed: every commit in it is `outcomeUnknown`, which
/// callers resolve from the journal, exactly as for a single step.
final class GroupCommitter: Sendable {
    /// A journal row, the fence it must hold, and the effect (if any) that commits with it.
    struct Commit: Sendable {
        var row: JournalStore.JournalRow
        var fence: WriteFence
        var effect: EffectStatement?
        /// A page of canonical records to store with the row (see ``effects(of:)``).
        var page: CanonicalBatch? = nil
        /// What the effect writes, so two effects on the same row never share a statement (see
        /// ``GroupCommitQueue``). nil: nothing beyond the journal row (whose key is unique).
        var conflictKey: String?
    }

    private struct Pending: Sendable {
        var commit: Commit
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: Sendable {
        var queue: GroupCommitQueue<UInt64>
        var pending: [UInt64: Pending] = [:]
        var nextTicket: UInt64 = 0
        var statistics = GroupCommitStatistics()
    }

    private let client: PostgresClient
    private let logger: Logger
    private let state: Mutex<State>
    /// A batch's text is its commits' effects (their pages merged, their journal rows as arrays):
    /// the common ones recur all through a sync, and run prepared.
    private let statements: PreparedStatements

    init(client: PostgresClient, logger: Logger, maximumInFlight: Int, maximumBatch: Int) {
        self.client = client
        self.logger = logger
        self.statements = PreparedStatements(logger: logger)
        self.state = Mutex(State(queue: GroupCommitQueue(maximumInFlight: maximumInFlight, maximumBatch: maximumBatch)))
    }

    var statistics: GroupCommitStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.inFlight = state.queue.inFlight
            statistics.waiting = state.queue.waitingCount
            return statistics
        }
    }

    /// Returns when the commit is durable; throws a sorted ``JournalError`` otherwise.
    func commit(_ commit: Commit) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let batch = state.withLock { state -> [Pending]? in
                let ticket = state.nextTicket
                state.nextTicket += 1
                state.pending[ticket] = Pending(commit: commit, continuation: continuation)
                return Self.take(state.queue.submit(ticket, conflictKey: commit.conflictKey), from: &state)
            }
            if let batch {
                // One task per burst of batches, not per commit: it keeps writing while commits wait.
                Task { await self.drain(startingWith: batch) }
            }
        }
    }

    private static func take(_ action: GroupCommitQueue<UInt64>.Action, from state: inout State) -> [Pending]? {
        guard case .send(let tickets) = action else { return nil }
        return tickets.map { ticket in
            guard let pending = state.pending.removeValue(forKey: ticket) else {
                preconditionFailure("group commit: ticket \(ticket) sent twice")
            }
            return pending
        }
    }

    private func drain(startingWith first: [Pending]) async {
        var batch = first
        while true {
            await write(batch)
            let next = state.withLock { state -> [Pending]? in
                state.statistics.batches += 1
                state.statistics.commits += batch.count
                return Self.take(state.queue.batchFinished(), from: &state)
            }
            guard let next else { return }
            batch = next
        }
    }

    private func write(_ batch: [Pending]) async {
        guard let statement = Self.statement(for: batch.map(\.commit)) else {
            // Two of its pages write one record in ways one statement cannot order (see
            // ``effects(of:)``): each commit on its own, in the order they came.
            state.withLock { $0.statistics.splitBatches += 1 }
            logger.debug("group commit split: two of its pages write one record", metadata: ["sync.batch": "\(batch.count)"])
            for pending in batch { await write([pending]) }
            return
        }
        do {
            _ = try await client.withConnection { connection in
                try await statements.query(statement, on: connection)
            }
            for pending in batch { pending.continuation.resume() }
        } catch {
            let sorted = batch.map { pending in
                JournalStore.classify(error, workflowID: pending.commit.row.workflowID, step: pending.commit.row.step, duringCommit: true)
            }
            let outcomeUnknown = (sorted.first as? JournalError)?.code == .outcomeUnknown
            if batch.count == 1 || outcomeUnknown {
                for (pending, error) in zip(batch, sorted) { pending.continuation.resume(throwing: error) }
                return
            }
            // Refused as a whole, so nothing of it committed: each commit on its own finds its own outcome.
            state.withLock { $0.statistics.refusedBatches += 1 }
            logger.debug("group commit refused; writing its commits one by one",
                         metadata: ["sync.batch": "\(batch.count)", "sync.error": "\(sorted.first.map { "\($0)" } ?? "")"])
            for pending in batch { await write([pending]) }
        }
    }

    /// The batch's one statement: its effects as data-modifying CTEs (Postgres runs each exactly
    /// once, referenced or not; an effect that is itself a list of them keeps its own names, each
    /// prefixed with its own), then one journal row per commit, each holding its own fence, sent as
    /// arrays (``JournalStore/insertRows(_:appendingTo:)``).
    /// nil when the batch cannot be one statement (``effects(of:)``); never for one commit.
    static func statement(for commits: [Commit]) -> PostgresQuery? {
        guard let effects = effects(of: commits) else { return nil }
        var binds = PostgresBindings(capacity: commits.count * 8)
        var expressions: [String] = []
        for (index, effect) in effects.enumerated() {
            switch effect.shape {
            case .statement:
                expressions.append("effect_\(index) AS (\(effect.render(appendingTo: &binds)))")
            case .commonTableExpressions:
                expressions.append(effect.render(appendingTo: &binds, namePrefix: "effect_\(index)_"))
            }
        }
        let insert = JournalStore.insertRows(commits.map { ($0.row, $0.fence) }, appendingTo: &binds)
        let with = expressions.isEmpty ? "" : "WITH \(expressions.joined(separator: ",\n     "))\n"
        return PostgresQuery(unsafeSQL: with + insert, binds: binds)
    }

    /// The commits' effects: each plain one as it is, and their canonical pages merged into one page
    /// per org and adapter (``CanonicalBatch/merge(_:)``, in commit order), stored by one
    /// ``CanonicalPageStatement``.
    ///
    /// Each page as its own expressions made a batch's text grow with its pages and differ with
    /// their order and mix, so big batches were planned anew every time: in one 5,000-people sync,
    /// batches of five pages or more were 110 statements, planned for 333 ms against 644 ms
    /// executing (`pg_stat_statements`). Merged, a batch's text depends on the kinds it writes.
    ///
    /// nil when a page cannot be merged (``CanonicalBatch/merge(_:)`` declined: the two copies of a
    /// record it shares with an earlier page could store something else merged than in order). Two
    /// pages that write one record cannot share a statement as separate expressions either:
    /// Postgres runs data-modifying expressions in an order of its own, and an upsert whose WHERE
    /// is false only locks the row, so the other page's upsert of it succeeds instead of failing
    /// ("cannot affect row a second time" needs a row the command changed). Such a batch is
    /// written one commit at a time, in order.
    static func effects(of commits: [Commit]) -> [EffectStatement]? {
        var effects: [EffectStatement] = []
        var pages: [CanonicalBatch] = []
        for commit in commits {
            if let effect = commit.effect { effects.append(effect) }
            guard let page = commit.page, !page.isEmpty else { continue }
            if let index = pages.firstIndex(where: { $0.orgID == page.orgID && $0.adapter == page.adapter }) {
                guard pages[index].merge(page) else { return nil }
            } else {
                pages.append(page)
            }
        }
        return effects + pages.map { CanonicalPageStatement(batch: $0).effect }
    }
}

/// What a journal's group committer wrote so far.
public struct GroupCommitStatistics: Sendable, Hashable {
    /// Batches written, one statement each, batches of one included (a refused batch's commits,
    /// written again one by one, are not counted again).
    public var batches = 0
    public var commits = 0
    /// Batches Postgres refused as a whole, whose commits were then written one by one.
    public var refusedBatches = 0
    /// Batches written one by one from the start, since two of their pages write one record in
    /// ways one statement cannot order (``GroupCommitter/effects(of:)``).
    public var splitBatches = 0
    /// Now: batches being written, and commits waiting for a slot.
    public var inFlight = 0
    public var waiting = 0
}
