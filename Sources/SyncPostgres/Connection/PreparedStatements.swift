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
/// these statements it does. The setting affects named prepared statements only, and the engine
/// prepares no others. Set inside a transaction that rolls back, it is undone: statements stay
/// right, only planned per execution again.
///
/// Callers keep the types of a text's bindings the same from one execution to the next (Postgres
/// takes them from the first); an effect that binds NULL says so in its text (``EffectStatement``
/// writes a nil as `NULL`).
public final class PreparedStatements: Sendable {
    private let table: Mutex<PreparedStatementTable>
    private let logger: Logger

    public convenience init(logger: Logger) {
        self.init(logger: logger, configuration: .init())
    }

    init(logger: Logger, configuration: PreparedStatementTable.Configuration) {
        self.table = Mutex(PreparedStatementTable(configuration: configuration))
        self.logger = logger
    }

    /// Prepared statements known on `connection` (for tests).
    func preparedCount(on connection: PostgresConnection) -> Int {
        table.withLock { $0.preparedCount(on: connection.id) }
    }

    /// Runs `query` on `connection` and returns its rows: by name once its text has been asked for
    /// often enough. Rows, errors and their SQLSTATEs are those of the query itself; a connection
    /// that closes first fails with ``PostgresConnectionClosed``, as in `queryUnlessClosed`.
    public func query(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw PostgresConnectionClosed(connectionID: connection.id) }
        switch table.withLock({ $0.statementRequested(query.sql, on: connection.id) }) {
        case .runUnnamed:
            return try await connection.queryUnlessClosed(query, logger: logger).collect()
        case .execute(let name):
            do {
                return try await execute(query, as: name, on: connection)
            } catch {
                // invalid_sql_statement_name: the session lost its statements (DISCARD ALL, say).
                if error is PostgresConnectionClosed || postgresSQLState(error) == "26000" {
                    table.withLock { $0.connectionLost(connection.id) }
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
                table.withLock { $0.prepared(query.sql, on: connection.id, name: name) }
                return rows
            } catch {
                // Whether the preparation or the execution failed is not told apart, so the name
                // is not used again (a statement prepared under it stays unused on the session).
                // Class 42 (syntax, a parameter of no inferable type) is the text's own fault.
                let permanently = postgresSQLState(error)?.hasPrefix("42") == true
                table.withLock { table in
                    table.preparationFailed(query.sql, permanently: permanently)
                    if error is PostgresConnectionClosed { table.connectionLost(connection.id) }
                }
                if permanently {
                    logger.warning("statement not prepared; it is sent unnamed from now on",
                                   metadata: ["sync.error": "\(describePostgresError(error))"])
                }
                throw error
            }
        }
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
