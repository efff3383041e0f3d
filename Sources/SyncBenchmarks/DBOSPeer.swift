import Foundation
import SyncPostgres

/// DBOS Transact (Python) committing the same one-insert steps, as the peer of the journal benchmark.
///
/// Runs `cluster/bench/dbos_steps.py` with a Python that has `dbos` installed, against databases on
/// the same Postgres server, and reads the JSON object it prints last. One run of the script gives a
/// serial p50/p99 and a concurrent steps/s, like one run of ours.
public struct DBOSPeer: Sendable {
    public struct Configuration: Sendable {
        /// A Python interpreter with `dbos` and `psycopg` importable (a venv's `bin/python`).
        public var python: String
        /// The path of `dbos_steps.py`.
        public var script: String
        /// Steps of the serial workflow; DBOS steps take ≈10–20 ms here, so fewer than ours.
        public var serialSteps: Int = 200
        public var workflows: Int = 16
        public var stepsPerWorkflow: Int = 25
        /// Isolation of DBOS's step transactions. Ours are READ COMMITTED; DBOS defaults to SERIALIZABLE.
        public var isolationLevel: String = "READ COMMITTED"

        public init(python: String, script: String) {
            self.python = python
            self.script = script
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// The installed DBOS version, or why the peer cannot run here.
    func probe() async -> Result<String, PeerUnavailable> {
        guard FileManager.default.isExecutableFile(atPath: configuration.python) else {
            return .failure(PeerUnavailable(peer: "DBOS", reason: "no Python at \(configuration.python) (run cluster/bench/dbos-venv.sh)"))
        }
        guard FileManager.default.fileExists(atPath: configuration.script) else {
            return .failure(PeerUnavailable(peer: "DBOS", reason: "no script at \(configuration.script)"))
        }
        let probe = ExternalCommand(executable: configuration.python, arguments: [
            "-c", "from importlib.metadata import version; import dbos; print(version('dbos'))",
        ])
        guard let output = try? await probe.run(), output.status == 0 else {
            return .failure(PeerUnavailable(peer: "DBOS", reason: "\(configuration.python) cannot import dbos (run cluster/bench/dbos-venv.sh)"))
        }
        return .success(output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// One run of the script: DBOS keeps its system tables in `systemDatabase`; the steps insert into `appDatabase`.
    func measure(systemDatabase: PostgresURL, appDatabase: PostgresURL) async throws -> StepFigures {
        let command = ExternalCommand(executable: configuration.python, arguments: [
            configuration.script,
            "--system-database-url", systemDatabase.libpqURL,
            "--app-database-url", appDatabase.libpqURL,
            "--serial-steps", String(configuration.serialSteps),
            "--workflows", String(configuration.workflows),
            "--steps-per-workflow", String(configuration.stepsPerWorkflow),
            "--isolation-level", configuration.isolationLevel,
        ])
        let output = try await command.run()
        guard output.status == 0 else {
            throw PeerUnavailable(peer: "DBOS", reason: "dbos_steps.py exited \(output.status): \(Self.tail(output.standardError))")
        }
        guard let line = output.standardOutput.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8))
        else {
            throw PeerUnavailable(peer: "DBOS", reason: "dbos_steps.py printed no JSON report: \(Self.tail(output.standardOutput))")
        }
        return StepFigures(serialP50Milliseconds: report.serial_p50_ms, serialP99Milliseconds: report.serial_p99_ms,
                           concurrentStepsPerSecond: report.concurrent_steps_per_second)
    }

    /// The script's report (its JSON keys).
    private struct Report: Decodable {
        var dbos_version: String
        var serial_p50_ms: Double
        var serial_p99_ms: Double
        var concurrent_steps_per_second: Double
    }

    private static func tail(_ text: String) -> String {
        String(text.split(separator: "\n").suffix(3).joined(separator: " / ").suffix(400))
    }
}
