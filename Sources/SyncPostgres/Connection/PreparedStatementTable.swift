/// Which statement texts are kept prepared on which connection: the decisions of
/// ``PreparedStatements``, without I/O.
///
/// Why: Postgres plans every unnamed statement from scratch, and the statements of a sync (a page's
/// links, rows and edges with its journal row) took as long to plan as to execute
/// (`pg_stat_statements` over one end-to-end sync of 5,000 people: 1,066 ms planning against
/// 1,907 ms executing, in 193 different texts of which seven made up more than half the calls). A
/// text that keeps coming back is worth a named prepared statement, whose plan Postgres keeps.
///
/// A text is prepared on a connection once it has been asked for `admitAfterUses` times (a group
/// commit of a rare mix of pages is never prepared); each connection keeps at most
/// `statementsPerConnection` (the least recently used one is deallocated to make room), and at most
/// `texts` texts of up to `maximumTextLength` bytes and `connections` connections are remembered
/// (the pool replaces closed connections: a forgotten one's statements are never named again, since
/// every preparation gets a name of its own, `namePrefix` then a number).
struct PreparedStatementTable<ConnectionKey: Hashable> {
    struct Configuration: Sendable {
        /// Uses of a text, across connections, before it is prepared.
        var admitAfterUses = 3
        /// Prepared statements kept per connection.
        var statementsPerConnection = 32
        /// Texts whose uses are counted.
        var texts = 256
        /// Longer texts always run unnamed and are not remembered: a group commit of many pages
        /// (hundreds of KB) seldom recurs, and what it costs is execution, not planning. Bounds the
        /// table's memory (`texts` × this, 8 MiB).
        var maximumTextLength = 32_768
        /// Connections whose statements are remembered.
        var connections = 64
    }

    enum Action: Equatable {
        /// Send the statement as it is (unnamed).
        case runUnnamed
        /// Execute the statement prepared on this connection as `name`.
        case execute(name: String)
        /// Deallocate `deallocating` (to stay within the per-connection bound), prepare the text as
        /// `name` and execute it, then report ``prepared(_:on:name:)`` (also when the execution,
        /// not the preparation, failed) or ``preparationFailed(_:permanently:)``. A name is never
        /// given twice: one whose preparation failed is not used again.
        case prepare(name: String, deallocating: [String])
    }

    private struct Text {
        var uses = 0
        var lastUse: UInt64
        /// Postgres refused to prepare it (a parameter whose type it cannot infer): never again.
        var unpreparable = false
    }

    private struct Statement {
        var name: String
        var lastUse: UInt64
    }

    private struct Connection {
        var statements: [String: Statement] = [:]
        var lastUse: UInt64
    }

    let configuration: Configuration
    /// Names are this and a number. Distinct for every table that may prepare on one connection:
    /// a connection knows a statement by its name alone.
    let namePrefix: String
    private var textsBySQL: [String: Text] = [:]
    private var connectionsByID: [ConnectionKey: Connection] = [:]
    private var clock: UInt64 = 0
    private var nextName: UInt64 = 0

    init(configuration: Configuration = Configuration(), namePrefix: String) {
        precondition(configuration.statementsPerConnection > 0 && configuration.texts > 0 && configuration.connections > 0,
                     "prepared statement bounds must be positive: \(configuration)")
        self.configuration = configuration
        self.namePrefix = namePrefix
    }

    /// What to do with `sql` on connection `connection`.
    mutating func statementRequested(_ sql: String, on connection: ConnectionKey) -> Action {
        guard sql.utf8.count <= configuration.maximumTextLength else { return .runUnnamed }
        clock += 1
        let now = clock
        var text = textsBySQL[sql] ?? Text(lastUse: now)
        text.uses += 1
        text.lastUse = now
        textsBySQL[sql] = text
        if textsBySQL.count > configuration.texts { evictTexts() }
        if let statement = connectionsByID[connection]?.statements[sql] {
            connectionsByID[connection]?.statements[sql]?.lastUse = now
            connectionsByID[connection]?.lastUse = now
            return .execute(name: statement.name)
        }
        guard !text.unpreparable, text.uses >= configuration.admitAfterUses else { return .runUnnamed }

        var entry = connectionsByID[connection] ?? Connection(lastUse: now)
        entry.lastUse = now
        var deallocating: [String] = []
        while entry.statements.count >= configuration.statementsPerConnection,
              let coldest = entry.statements.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            deallocating.append(coldest.value.name)
            entry.statements[coldest.key] = nil
        }
        connectionsByID[connection] = entry
        if connectionsByID.count > configuration.connections { evictConnections(keeping: connection) }
        nextName += 1
        return .prepare(name: "\(namePrefix)\(nextName)", deallocating: deallocating)
    }

    /// The ``Action/prepare(name:deallocating:)`` of `sql` succeeded.
    mutating func prepared(_ sql: String, on connection: ConnectionKey, name: String) {
        clock += 1
        connectionsByID[connection, default: Connection(lastUse: clock)].statements[sql] = Statement(name: name, lastUse: clock)
    }

    /// The ``Action/prepare(name:deallocating:)`` of `sql` failed; `permanently`: Postgres refused
    /// the text itself, which is sent unnamed from now on. Otherwise it is prepared again, under
    /// a new name, when next admitted.
    mutating func preparationFailed(_ sql: String, permanently: Bool) {
        if permanently { textsBySQL[sql]?.unpreparable = true }
    }

    /// The connection's prepared statements are gone (it closed, or Postgres said a name does not
    /// exist): nothing is executed by name on it until prepared again.
    mutating func connectionLost(_ connection: ConnectionKey) {
        connectionsByID[connection] = nil
    }

    /// Names prepared on `connection`, for tests and logs.
    func preparedCount(on connection: ConnectionKey) -> Int { connectionsByID[connection]?.statements.count ?? 0 }

    /// Drops the least recently used half, so that eviction runs once per `texts / 2` new texts
    /// rather than once per text.
    private mutating func evictTexts() {
        let keep = configuration.texts / 2
        let coldest = textsBySQL.sorted { $0.value.lastUse > $1.value.lastUse }.dropFirst(keep)
        for (sql, _) in coldest { textsBySQL[sql] = nil }
    }

    private mutating func evictConnections(keeping current: ConnectionKey) {
        let keep = configuration.connections / 2
        let coldest = connectionsByID.filter { $0.key != current }.sorted { $0.value.lastUse > $1.value.lastUse }.dropFirst(keep)
        for (id, _) in coldest { connectionsByID[id] = nil }
    }
}
