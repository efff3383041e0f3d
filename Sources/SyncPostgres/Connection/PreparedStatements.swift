import Logging
import PostgresNIO
import Synchronization

/// Runs statements whose text keeps coming back as named prepared statements, so Postgres plans
/// them once per connection rather than once per execution (see ``PreparedStatementTable`` for
/// which texts, and why).
///
/// PostgresNIO prepares a statement (Parse and Describe once per connection, then Bind and Execute)
/// only when its name and SQL are static properties of a type; ours are built at run time, one text
/// per page shape. ``RuntimePreparedStatement`` reads them from a task-local bound around the call.
/// (SQL-level `PREPARE`/`EXECUTE` is no way round it: `EXECUTE` is a utility statement and takes
/// no bound parameters.)
///
/// The prepared plan is generic (`plan_cache_mode = force_generic_plan`, set on the session before
/// each preparation): by default Postgres tries five custom plans first and keeps planning each
/// execution when the generic plan's estimate (arrays of unknown length) looks dearer, which for
/// these statements it does. The setting is the session's: it also holds for the statements inside
/// PL/pgSQL functions run on that session (`sync_delete_stale_edges`, the fence functions), which
/// look rows up by primary key in forms that do not depend on estimates (migration 0004), and the
/// end-to-end A/B and chaos runs were measured with it. Set inside a transaction that rolls back, it
/// is undone: statements stay right, only planned per execution again.
///
/// Callers keep the types of a text's bindings the same from one execution to the next (Postgres
/// takes them from the first); an effect that binds NULL says so in its text (``EffectStatement``
/// writes a nil as `NULL`). A connection is used by one task at a time, as a pool lease gives it.
///
/// Connections are told apart by identity, not by `PostgresConnection.id` (every connection opened
/// outside a pool has id 1, and two pools number theirs alike): a weak reference per connection
/// notices an address reused by a new connection, and the statements of connections gone are
/// forgotten when a new one first comes.
public final class PreparedStatements: Sendable {
    private struct KnownConnection {
        weak var connection: PostgresConnection?
    }

    private struct State {
        var table: PreparedStatementTable<ObjectIdentifier>
        var known: [ObjectIdentifier: KnownConnection] = [:]
        /// Preparations attempted (for tests).
        var preparations = 0
    }

    /// Every instance names its statements apart: PostgresNIO knows a connection's prepared
    /// statements by name alone, and several instances may prepare on one connection.
    private static let instances = Atomic<UInt64>(0)

    private let state: Mutex<State>
    private let logger: Logger

    public convenience init(logger: Logger) {
        self.init(logger: logger, configuration: .init())
    }

    init(logger: Logger, configuration: PreparedStatementTable<ObjectIdentifier>.Configuration) {
        let instance = Self.instances.add(1, ordering: .relaxed).newValue
        self.state = Mutex(State(table: PreparedStatementTable(configuration: configuration, namePrefix: "sync_p\(instance)_")))
        self.logger = logger
    }

    /// Prepared statements known on `connection` (for tests).
    func preparedCount(on connection: PostgresConnection) -> Int {
        state.withLock { $0.table.preparedCount(on: ObjectIdentifier(connection)) }
    }

    /// Preparations attempted so far (for tests).
    var preparations: Int { state.withLock { $0.preparations } }

    /// What to do with `sql` on `connection`, after making sure the table's view of `connection`
    /// is this very connection.
    private func statementRequested(_ sql: String, on connection: PostgresConnection) -> PreparedStatementTable<ObjectIdentifier>.Action {
        let key = ObjectIdentifier(connection)
        return state.withLock { state in
            if state.known[key]?.connection !== connection {
                // New here, or a new connection at a gone one's address: nothing is prepared on it.
                state.table.connectionLost(key)
                for (other, known) in state.known where known.connection == nil {
                    state.table.connectionLost(other)
                    state.known[other] = nil
                }
                state.known[key] = KnownConnection(connection: connection)
            }
            let action = state.table.statementRequested(sql, on: key)
            if case .prepare = action { state.preparations += 1 }
            return action
        }
    }

    /// Runs `query` on `connection` and returns its rows: by name once its text has been asked for
    /// often enough. Rows, errors and their SQLSTATEs are those of the query itself; a connection
    /// that closes first fails with ``PostgresConnectionClosed``, as in `queryUnlessClosed`.
    public func query(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw PostgresConnectionClosed(connectionID: connection.id) }
        let key = ObjectIdentifier(connection)
        switch statementRequested(query.sql, on: connection) {
        case .runUnnamed:
            return try await connection.queryUnlessClosed(query, logger: logger).collect()
        case .execute(let name):
            do {
                return try await execute(query, as: name, on: connection)
            } catch {
                // invalid_sql_statement_name: the session lost its statements (DISCARD ALL, say).
                if error is PostgresConnectionClosed || postgresSQLState(error) == "26000" {
                    state.withLock { $0.table.connectionLost(key) }
                }
                throw error
            }
        case .prepare(let name, let deallocating):
            do {
                for old in deallocating {
                    try await connection.queryUnlessClosed(PostgresQuery(unsafeSQL: "DEALLOCATE \(old)"), logger: logger)
                }
                try await connection.queryUnlessClosed("SET plan_cache_mode = force_generic_plan", logger: logger)
                let rows = try await execute(query, as: name, on: connection)
                state.withLock { $0.table.prepared(query.sql, on: key, name: name) }
                return rows
            } catch {
                state.withLock { state in
                    if Self.failedAfterPreparation(error) {
                        // The statement was prepared and then failed on its values (a fence, a
                        // conflict): it stays prepared, and is executed by name next time.
                        state.table.prepared(query.sql, on: key, name: name)
                    } else {
                        // Class 42 (syntax, a parameter of no inferable type) is the text's own
                        // fault. Anything else may have come before or during the preparation: the
                        // name is not used again (a statement prepared under it stays unused on the
                        // session, once per such failure).
                        state.table.preparationFailed(query.sql, permanently: postgresSQLState(error)?.hasPrefix("42") == true)
                    }
                    if error is PostgresConnectionClosed || postgresSQLState(error) == "26000" { state.table.connectionLost(key) }
                }
                if postgresSQLState(error)?.hasPrefix("42") == true {
                    logger.warning("statement not prepared; it is sent unnamed from now on",
                                   metadata: ["sync.error": "\(describePostgresError(error))"])
                }
                throw error
            }
        }
    }

    /// Errors only an execution raises, never a preparation (Parse and Describe): integrity and
    /// cardinality violations, serialization failures and deadlocks, errors raised by PL/pgSQL
    /// (`P0…`, and the fence functions' `SY…`).
    static func failedAfterPreparation(_ error: any Error) -> Bool {
        guard let state = postgresSQLState(error) else { return false }
        return ["23", "21", "40", "P0", "SY"].contains(String(state.prefix(2)))
    }

    private func execute(_ query: PostgresQuery, as name: String, on connection: PostgresConnection) async throws -> [PostgresRow] {
        let text = RuntimePreparedStatement.Text(name: name, sql: query.sql)
        let statement = RuntimePreparedStatement(bindings: query.binds)
        let logger = logger
        return try await RuntimePreparedStatement.$text.withValue(text) {
            // The close watch's task inherits the task-local.
            try await connection.answerWatchingClose { connection in
                var rows: [PostgresRow] = []
                for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                return rows
            }
        }
    }
}

/// A statement whose name and SQL PostgresNIO reads from ``text``, bound by the caller for the
/// duration of `execute` (PostgresNIO reads both as static properties, on the caller's task).
struct RuntimePreparedStatement: PostgresPreparedStatement {
    struct Text: Sendable {
        var name: String
        var sql: String
    }

    @TaskLocal static var text: Text?

    static var name: String {
        guard let text else { preconditionFailure("RuntimePreparedStatement executed without its text bound") }
        return text.name
    }

    static var sql: String {
        guard let text else { preconditionFailure("RuntimePreparedStatement executed without its text bound") }
        return text.sql
    }

    typealias Row = PostgresRow

    var bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
