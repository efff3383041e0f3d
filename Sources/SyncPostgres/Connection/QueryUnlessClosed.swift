import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The connection closed (Postgres restarted, or terminated the session) before the query answered.
/// Nothing of an open transaction was committed, unless the query was the `COMMIT` itself.
public struct PostgresConnectionClosed: Error, CustomStringConvertible {
    public var connectionID: Int
    public var description: String { "the Postgres connection \(connectionID) closed before the query answered" }
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
    /// Postgres restart). Here the query runs in its own task while the caller waits on whichever
    /// comes first: its answer, or the connection seen closed at one of the checks every `interval`.
    /// A lost query's task stays suspended (a small leak, once per lost query).
    @discardableResult
    public func queryUnlessClosed(
        _ query: PostgresQuery, logger: Logger, checkEvery interval: TimeAmount = .milliseconds(200)
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosed(connectionID: id) }
        let answer = PendingAnswer()
        return try await withCheckedThrowingContinuation { continuation in
            answer.await(continuation)
            let connection = self
            let watch = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { task in
                if answer.isGiven {
                    task.cancel()
                } else if connection.isClosed {
                    answer.give(.failure(PostgresConnectionClosed(connectionID: connection.id)))
                    task.cancel()
                }
            }
            Task {
                do {
                    answer.give(.success(try await connection.query(query, logger: logger)))
                } catch {
                    answer.give(.failure(error))
                }
                watch.cancel()
            }
        }
    }
}

extension PostgresClient {
    /// `query` on a pooled connection, failing instead of hanging when the connection closes under it
    /// (see ``PostgresNIO/PostgresConnection/queryUnlessClosed(_:logger:checkEvery:)``).
    @discardableResult
    public func queryUnlessClosed(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await withConnection { try await $0.queryUnlessClosed(query, logger: logger) }
    }
}

/// The answer a caller waits for: given once, by the query or by the close check, whichever is first.
private final class PendingAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<PostgresRowSequence, any Error>?
        var given = false
    }

    private let state = Mutex(State())

    func await(_ continuation: CheckedContinuation<PostgresRowSequence, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    var isGiven: Bool { state.withLock { $0.given } }

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
