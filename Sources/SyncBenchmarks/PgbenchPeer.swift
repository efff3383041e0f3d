import Foundation
import SyncPostgres

/// The durability floor measured by `pgbench` (postgresql-contrib): one single-row INSERT per
/// transaction, one client and then `clients` at once, with the server's own fsync settings.
///
/// pgbench reports a mean latency, not percentiles (its per-transaction log rounds some entries to
/// 0 µs here), so its serial figure is the mean and it has no p99.
public struct PgbenchPeer: Sendable {
    public var executable: String

    public init(executable: String) { self.executable = executable }

    /// `pgbench` of the PostgreSQL 15 packages, else the first on PATH; nil when neither exists.
    public static func locate() -> String? {
        ExternalCommand.locate("/usr/lib/postgresql/15/bin/pgbench") ?? ExternalCommand.locate("pgbench")
    }

    /// The table the script inserts into; created by the journal benchmark.
    static let tableSQL = "CREATE TABLE bench_pgbench (id bigserial PRIMARY KEY, payload text NOT NULL)"

    /// `serialTransactions` with one client, then `clients` clients of `transactionsPerClient` each.
    func measure(database: PostgresURL, serialTransactions: Int, clients: Int, transactionsPerClient: Int) async throws -> StepFigures {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("syncengine-pgbench-\(UUID().uuidString).sql")
        try Data("INSERT INTO bench_pgbench (payload) VALUES ('effect');\n".utf8).write(to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let serial = try await run(database: database, script: scratch.path, clients: 1, transactionsPerClient: serialTransactions)
        let concurrent = try await run(database: database, script: scratch.path, clients: clients, transactionsPerClient: transactionsPerClient)
        return StepFigures(serialP50Milliseconds: serial.latencyMilliseconds, serialP99Milliseconds: .nan,
                           concurrentStepsPerSecond: concurrent.transactionsPerSecond)
    }

    private func run(
        database: PostgresURL, script: String, clients: Int, transactionsPerClient: Int
    ) async throws -> (latencyMilliseconds: Double, transactionsPerSecond: Double) {
        var environment: [String: String] = [:]
        if let password = database.password { environment["PGPASSWORD"] = password }
        let command = ExternalCommand(executable: executable, arguments: [
            "--no-vacuum", "--file=\(script)", "--client=\(clients)", "--jobs=\(min(clients, 2))",
            "--transactions=\(transactionsPerClient)",
            "--host=\(database.host)", "--port=\(database.port)", "--username=\(database.username)", database.database,
        ], environment: environment)
        let output = try await command.run()
        guard output.status == 0,
              let latency = Self.number(after: "latency average = ", in: output.standardOutput),
              let tps = Self.number(after: "tps = ", in: output.standardOutput)
        else {
            throw PeerUnavailable(peer: "pgbench", reason: "exited \(output.status): \(output.standardError.suffix(300))")
        }
        return (latency, tps)
    }

    /// The number following `prefix` in pgbench's report.
    static func number(after prefix: String, in text: String) -> Double? {
        guard let range = text.range(of: prefix) else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        return Double(digits)
    }
}
