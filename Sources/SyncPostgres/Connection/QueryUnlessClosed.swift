import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The connection closed (Postgres restarted, or ended the session) before the statement answered.
/// An open transaction on it was rolled back by Postgres; a `COMMIT` sent on it has an unknown
/// outcome. Retry on another connection (the pool opens one when Postgres is back).
public struct PostgresConnectionClosed: Error, CustomStringConvertible {
    public var connectionID: Int
    public var description: String {
        "the Postgres connection \(connectionID) closed before the statement answered (Postgres restarted or ended the session); "
            + "its transaction did not commit, unless the statement was the COMMIT: then its outcome is unknown"
    }
}

extension PostgresConnection {
    /// Runs `query`, failing with ``PostgresConnectionClosed`` when the connection closes before the
    /// query answers.
    ///
    /// Why not plain `query`: PostgresNIO 1.33 loses a query written to a connection that has
    /// already closed (the write's failure has no promise to go to), so `query` never returns
    /// (vapor/postgres-nio#487 fixed it and #501 reverted the fix). A commit that sends its next
    /// statement just after Postgres ended the session then waits forever, and with it the
    /// workflow and its shard (found by the chaos soak: workflows "committing" for minutes after a
    /// Postgres restart). Here the query runs in its own task while the caller waits for whichever
    /// comes first: its answer, or the connection seen closed at two checks in a row, `interval`
    /// apart (two, so that an answer that arrived just before the close wins). A lost query's task
    /// stays suspended: a small leak, once per statement lost to a closed connection.
    @discardableResult
    public func queryUnlessClosed(
        _ query: PostgresQuery, logger: Logger, checkEvery interval: TimeAmount = .milliseconds(200),
        file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosed(connectionID: id) }
        return try await queryWatchingClose(query, logger: logger, checkEvery: interval, file: file, line: line)
    }

    /// ``queryUnlessClosed(_:logger:checkEvery:file:line:)`` without the check before sending: the
    /// close watch alone (tests send on a closed connection through it).
    func queryWatchingClose(
        _ query: PostgresQuery, logger: Logger, checkEvery interval: TimeAmount, file: String, line: Int
    ) async throws -> PostgresRowSequence {
        let answer = PendingAnswer()
        return try await withCheckedThrowingContinuation { continuation in
            answer.register(continuation)
            let connection = self
            let watch = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { task in
                guard !answer.isGiven else {
                    task.cancel()
                    return
                }
                if answer.checked(closed: connection.isClosed) >= 2 {
                    answer.give(.failure(PostgresConnectionClosed(connectionID: connection.id)))
                    task.cancel()
                }
            }
            Task {
                do {
                    answer.give(.success(try await connection.query(query, logger: logger, file: file, line: line)))
                } catch {
                    answer.give(.failure(error))
                }
                watch.cancel()
            }
        }
    }
}

extension PostgresClient {
    /// Runs `query` on a pooled connection and reads every row before the connection goes back to
    /// the pool; fails instead of hanging when the connection closes under it (see
    /// ``PostgresNIO/PostgresConnection/queryUnlessClosed(_:logger:checkEvery:file:line:)``).
    @discardableResult
    public func queryUnlessClosed(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await connection.queryUnlessClosed(query, logger: logger, file: file, line: line).collect()
        }
    }
}

extension Array where Element == PostgresRow {
    /// Every row decoded as one column.
    public func decode<Column: PostgresDecodable>(_ column: Column.Type, file: String = #fileID, line: Int = #line) throws -> [Column] {
        try map { try $0.decode(column, file: file, line: line) }
    }

    /// Every row decoded as a tuple of columns.
    public func decode<each Column: PostgresDecodable>(
        _ columns: (repeat each Column).Type, file: String = #fileID, line: Int = #line
    ) throws -> [(repeat each Column)] {
        try map { try $0.decode(columns, context: .default, file: file, line: line) }
    }
}

/// The answer a caller waits for: given once, by the query or by the close watch, whichever is first.
private final class PendingAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<PostgresRowSequence, any Error>?
        var given = false
        /// Consecutive checks that found the connection closed.
        var closedChecks = 0
    }

    private let state = Mutex(State())

    func register(_ continuation: CheckedContinuation<PostgresRowSequence, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    var isGiven: Bool { state.withLock { $0.given } }

    /// Records one check of the connection; returns how many checks in a row found it closed.
    func checked(closed: Bool) -> Int {
        state.withLock { state in
            state.closedChecks = closed ? state.closedChecks + 1 : 0
            return state.closedChecks
        }
    }

    func give(_ result: Result<PostgresRowSequence, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<PostgresRowSequence, any Error>? in
            guard !state.given else { return nil }
            state.given = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }
}
