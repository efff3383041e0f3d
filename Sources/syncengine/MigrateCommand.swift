import ArgumentParser
import Foundation
import Logging
import SyncPostgres

/// `syncengine migrate`: apply pending database migrations.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations from Migrations/ in order, under an advisory lock."
    )

    @Option(help: "Postgres URL (default: $SYNC_POSTGRES_URL).")
    var postgres: String?

    @Option(help: "Directory of numbered .sql files (default: $SYNC_MIGRATIONS_DIR, or Migrations/ of the package).")
    var migrations: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let urlString = postgres ?? environment["SYNC_POSTGRES_URL"] else {
            throw ValidationError("no Postgres URL: pass --postgres or set SYNC_POSTGRES_URL")
        }
        let url: PostgresURL
        do { url = try PostgresURL(parsing: urlString) } catch { throw CLIError(error.description) }
        guard let directory = MigrationDirectory.locate(
            explicit: migrations, environment: environment, executablePath: CommandLine.arguments[0]
        ) else {
            throw CLIError("cannot find the Migrations directory: pass --migrations DIR or set SYNC_MIGRATIONS_DIR")
        }
        var logger = Logger(label: "syncengine.migrate")
        logger.logLevel = .warning
        do {
            let files = try MigrationDirectory.load(from: directory)
            let outcome = try await MigrationRunner(migrations: files, logger: logger).run(url: url)
            for name in outcome.applied { print("applied \(name)") }
            print("\(url.database): \(outcome.applied.count) applied, \(outcome.alreadyApplied) already applied")
        } catch let error as MigrationError {
            throw CLIError(error.description)
        } catch let error as PostgresUnavailableError {
            throw CLIError(error.description)
        }
    }
}
