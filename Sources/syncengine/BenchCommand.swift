import ArgumentParser
import Foundation
import Logging
import SyncBenchmarks
import SyncPostgres

/// `syncengine bench <name>`: measures one part of the engine against real Postgres and prints a
/// table of medians, each figure next to its goal and the baseline or peer measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark (store, journal, replay, or all) and print its table.",
        discussion: """
            Creates throwaway bench_* databases on the server of --postgres and drops them afterwards.
            Build with -c release for figures worth quoting. The journal benchmark's DBOS peer needs
            the venv made by cluster/bench/dbos-venv.sh.
            """
    )

    enum Name: String, ExpressibleByArgument, CaseIterable {
        case store, journal, replay, all
    }

    @Argument(help: "Which benchmark: \(Name.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: Name

    @Option(help: "Postgres URL of a server where bench_* databases may be created (default: $SYNC_TEST_POSTGRES_URL, then $SYNC_POSTGRES_URL).")
    var postgres: String?

    @Option(help: "Runs of each side; tables show medians.")
    var runs = 5

    @Option(help: "Directory of numbered .sql migration files (default: as `syncengine migrate`).")
    var migrations: String?

    @Option(help: "store: People pages (100 people each, with emails, phone numbers, addresses).")
    var pages = 50

    @Option(help: "journal: timed steps of the serial workflow.")
    var serialSteps = 500

    @Option(help: "journal: concurrent workflows.")
    var workflows = 16

    @Option(help: "journal: steps of each concurrent workflow.")
    var stepsPerWorkflow = 100

    @Option(help: "journal: Python with dbos installed (default: $SYNC_BENCH_PYTHON, then .build-bench-venv/bin/python of the package); 'none' skips the peer.")
    var dbosPython: String?

    @Option(help: "journal: timed serial steps of the DBOS peer.")
    var dbosSerialSteps = 200

    @Option(help: "journal: steps of each concurrent DBOS workflow.")
    var dbosStepsPerWorkflow = 25

    @Option(help: "journal: the pgbench executable (default: /usr/lib/postgresql/15/bin/pgbench, then PATH); 'none' skips it.")
    var pgbench: String?

    @Option(help: "replay: steps in the journal.")
    var replaySteps = 1_000

    func validate() throws {
        guard runs >= 1, pages >= 1, serialSteps >= 1, workflows >= 1, stepsPerWorkflow >= 1, replaySteps >= 2,
              dbosSerialSteps >= 1, dbosStepsPerWorkflow >= 1
        else { throw ValidationError("counts must be positive (--replay-steps at least 2)") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let urlText = postgres ?? environment["SYNC_TEST_POSTGRES_URL"] ?? environment["SYNC_POSTGRES_URL"] else {
            throw ValidationError("no Postgres URL: pass --postgres or set SYNC_TEST_POSTGRES_URL")
        }
        let url: PostgresURL
        do { url = try PostgresURL(parsing: urlText) } catch { throw CLIError(error.description) }
        guard let directory = MigrationDirectory.locate(explicit: migrations, environment: environment,
                                                        executablePath: CommandLine.arguments[0]) else {
            throw CLIError("cannot find the Migrations directory: pass --migrations DIR or set SYNC_MIGRATIONS_DIR")
        }
        let logger = commandLogger("syncengine.bench")
        let files: [Migration]
        do { files = try MigrationDirectory.load(from: directory) } catch { throw CLIError(error.description) }
        let database = BenchmarkDatabase(server: url, migrations: files, logger: logger)

        let machine: MachineDescription
        do { machine = try await MachineDescription.probe(postgres: url, logger: logger) } catch {
            throw CLIError(describePostgresError(error))
        }
        let selected: [Name] = name == .all ? [.store, .journal, .replay] : [name]
        var failures = 0
        for benchmark in selected {
            do {
                let table = try await run(benchmark, database: database, machine: machine, logger: logger)
                print(table.rendered() + "\n")
                if let results = ProcessInfo.processInfo.environment["SYNC_BENCH_RESULTS"] {
                    try appendResults(table.tabSeparatedRows(), to: results)
                }
            } catch {
                failures += 1
                print("== \(benchmark.rawValue) ==\nnot measured: \(describePostgresError(error))\n")
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    /// Appends to the results file `cluster/bench/all` reads (created when missing).
    private func appendResults(_ lines: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CLIError("cannot create the results file \(path) (SYNC_BENCH_RESULTS)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError("cannot open the results file \(path) (SYNC_BENCH_RESULTS)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.utf8))
    }

    private func run(_ benchmark: Name, database: BenchmarkDatabase, machine: MachineDescription, logger: Logger) async throws -> BenchmarkTable {
        switch benchmark {
        case .store:
            var configuration = StoreBenchmark.Configuration()
            configuration.runs = runs
            configuration.pages = pages
            return try await StoreBenchmark(configuration: configuration, logger: logger).run(database: database, machine: machine)
        case .journal:
            var configuration = JournalBenchmark.Configuration()
            configuration.runs = runs
            configuration.serialSteps = serialSteps
            configuration.workflows = workflows
            configuration.stepsPerWorkflow = stepsPerWorkflow
            configuration.pgbench = pgbenchPeer()
            configuration.dbos = dbosPeer()
            return try await JournalBenchmark(configuration: configuration, logger: logger).run(database: database, machine: machine)
        case .replay:
            var configuration = ReplayBenchmark.Configuration()
            configuration.runs = runs
            configuration.steps = replaySteps
            return try await ReplayBenchmark(configuration: configuration, logger: logger).run(database: database, machine: machine)
        case .all:
            preconditionFailure("'all' is expanded before running")
        }
    }

    private func pgbenchPeer() -> PgbenchPeer? {
        if pgbench == "none" { return nil }
        return (pgbench ?? PgbenchPeer.locate()).map(PgbenchPeer.init(executable:))
    }

    /// The DBOS peer, with its files found next to the package; nil when skipped on purpose.
    private func dbosPeer() -> DBOSPeer? {
        let environment = ProcessInfo.processInfo.environment
        if dbosPython == "none" { return nil }
        let root = packageRoot()
        let python = dbosPython ?? environment["SYNC_BENCH_PYTHON"] ?? root.appendingPathComponent(".build-bench-venv/bin/python").path
        var configuration = DBOSPeer.Configuration(
            python: python, script: root.appendingPathComponent("cluster/bench/dbos_steps.py").path
        )
        configuration.serialSteps = dbosSerialSteps
        configuration.workflows = workflows
        configuration.stepsPerWorkflow = dbosStepsPerWorkflow
        return DBOSPeer(configuration: configuration)
    }

    /// The package checkout: the working directory when it holds cluster/bench, else the directory
    /// above `.build*/<config>/` of the executable.
    private func packageRoot() -> URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("cluster/bench").path) { return cwd }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
