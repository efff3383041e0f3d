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
    /// comes first: its answer, or the connection seen closed at two sweeps in a row, `interval`
    /// apart, of the process's ``ClosedConnectionWatch`` (two, so that an answer that arrived just
    /// before the close wins). A lost query's task stays suspended: a small leak, once per statement
    /// lost to a closed connection.
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
        try await answerWatchingClose(checkEvery: interval) { connection in
            try await connection.query(query, logger: logger, file: file, line: line)
        }
    }

    /// The answer of `request` (run in its own task, which inherits task-locals), or
    /// ``PostgresConnectionClosed`` once the connection is seen closed: the close watch of
    /// ``queryUnlessClosed(_:logger:checkEvery:file:line:)`` for any request on this connection.
    /// Callers check `isClosed` before.
    func answerWatchingClose<Answer: Sendable>(
        checkEvery interval: TimeAmount = .milliseconds(200),
        _ request: @escaping @Sendable (PostgresConnection) async throws -> sending Answer
    ) async throws -> Answer {
        let answer = PendingAnswer<Answer>()
        let watch = ClosedConnectionWatch.shared(checkingEvery: interval)
        return try await withCheckedThrowingContinuation { continuation in
            answer.register(continuation)
            let ticket = watch.watch(self, answer)
            let connection = self
            Task {
                do {
                    answer.give(.success(try await request(connection)))
                } catch {
                    answer.give(.failure(error))
                }
                watch.unwatch(ticket)
            }
        }
    }
}

/// The statements waiting for an answer, checked together every interval by one sweeper task: a
/// statement whose connection is found closed at two sweeps in a row fails with
/// ``PostgresConnectionClosed``. One sweeper for all statements, rather than a timer each, because a
/// timer armed and cancelled per statement costs two event-loop wake-ups on the hottest path.
final class ClosedConnectionWatch: Sendable {
    private struct Watched {
        var connection: PostgresConnection
        var answer: any ClosedConnectionAnswer
        var closedSweeps = 0
    }

    private struct State {
        var watched: [UInt64: Watched] = [:]
        var nextTicket: UInt64 = 0
        var sweeping = false
    }

    private static let instances = Mutex<[Int64: ClosedConnectionWatch]>([:])

    /// The process's watch for `interval` (in practice one: every caller uses the default).
    static func shared(checkingEvery interval: TimeAmount) -> ClosedConnectionWatch {
        instances.withLock { instances in
            if let existing = instances[interval.nanoseconds] { return existing }
            let watch = ClosedConnectionWatch(interval: interval)
            instances[interval.nanoseconds] = watch
            return watch
        }
    }

    private let interval: Duration
    private let state = Mutex(State())

    private init(interval: TimeAmount) {
        self.interval = .nanoseconds(interval.nanoseconds)
    }

    func watch(_ connection: PostgresConnection, _ answer: any ClosedConnectionAnswer) -> UInt64 {
        let (ticket, startSweeper) = state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.watched[ticket] = Watched(connection: connection, answer: answer)
            let start = !state.sweeping
            state.sweeping = true
            return (ticket, start)
        }
        if startSweeper {
            Task.detached { [self] in await sweep() }
        }
        return ticket
    }

    func unwatch(_ ticket: UInt64) { state.withLock { _ = $0.watched.removeValue(forKey: ticket) } }

    /// Runs while anything is watched; the next `watch` starts it again.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: interval)
            let (closed, stop) = state.withLock { state -> ([(any ClosedConnectionAnswer, Int)], Bool) in
                var closed: [(any ClosedConnectionAnswer, Int)] = []
                for (ticket, watched) in state.watched {
                    guard watched.connection.isClosed else {
                        state.watched[ticket]?.closedSweeps = 0
                        continue
                    }
                    if watched.closedSweeps >= 1 {
                        closed.append((watched.answer, watched.connection.id))
                        state.watched[ticket] = nil
                    } else {
                        state.watched[ticket]?.closedSweeps = 1
                    }
                }
                if state.watched.isEmpty { state.sweeping = false }
                return (closed, !state.sweeping)
            }
            for (answer, connectionID) in closed {
                answer.fail(PostgresConnectionClosed(connectionID: connectionID))
            }
            if stop { return }
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

/// What the close watch can do with an answer it watches: fail it.
protocol ClosedConnectionAnswer: Sendable {
    func fail(_ error: any Error)
}

/// The answer a caller waits for: given once, by the request or by the close watch, whichever is first.
final class PendingAnswer<Answer: Sendable>: ClosedConnectionAnswer {
    private struct State {
        var continuation: CheckedContinuation<Answer, any Error>?
        var given = false
    }

    private let state = Mutex(State())

    func register(_ continuation: CheckedContinuation<Answer, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    var isGiven: Bool { state.withLock { $0.given } }

    func give(_ result: Result<Answer, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Answer, any Error>? in
            guard !state.given else { return nil }
            state.given = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }

    func fail(_ error: any Error) { give(.failure(error)) }
}
