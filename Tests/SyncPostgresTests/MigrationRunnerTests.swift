import Foundation
import PostgresNIO
import SyncTestSupport
import Testing
@testable import SyncPostgres

@Suite("Migrations against a real Postgres")
struct MigrationRunnerTests {
    let migrations: [Migration]

    init() throws {
        migrations = try MigrationDirectory.load(from: TestServices.migrationsDirectory)
    }

    func runner() -> MigrationRunner { MigrationRunner(migrations: migrations, logger: TestServices.logger) }

    func count(_ sql: PostgresQuery, in database: TemporaryDatabase) async throws -> Int {
        let connection = try await database.connect()
        defer { Task { try? await connection.close() } }
        for try await value in try await connection.query(sql, logger: TestServices.logger).decode(Int.self) {
            return value
        }
        return -1
    }

    @Test("the repository's migration files are numbered and load in order")
    func filesLoad() {
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(migrations.first?.fileName == "0001_initial_schema.sql")
    }

    @Test("applying twice applies each file once and records its checksum")
    func idempotent() async throws {
        try await TemporaryDatabase.with(prefix: "mig") { database in
            let first = try await runner().run(url: database.url)
            #expect(first.applied == migrations.map(\.fileName))
            let second = try await runner().run(url: database.url)
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == migrations.count)
            #expect(try await count("SELECT count(*)::int FROM schema_migrations", in: database) == migrations.count)
            // The schema is really there: the journal's primary key exists.
            #expect(try await count("""
                SELECT count(*)::int FROM information_schema.table_constraints
                WHERE table_name = 'workflow_steps' AND constraint_type = 'PRIMARY KEY'
                """, in: database) == 1)
        }
    }

    @Test("two processes migrating the same database at once both succeed and apply each file once")
    func concurrentProcesses() async throws {
        let binary = try TestServices.engineBinary()
        try await TemporaryDatabase.with(prefix: "migc") { database in
            let arguments = ["migrate", "--postgres", database.url.description,
                             "--migrations", TestServices.migrationsDirectory.path]
            async let a = ProcessRunner.run(binary, arguments)
            async let b = ProcessRunner.run(binary, arguments)
            let results = try await [a, b]
            for result in results {
                #expect(result.status == 0, "migrate failed: \(result.stderr)")
            }
            let appliedLines = results.map { $0.stdout.split(separator: "\n").filter { $0.hasPrefix("applied ") }.count }
            #expect(appliedLines.sorted() == [0, migrations.count], "exactly one process applies the files")
            #expect(try await count("SELECT count(*)::int FROM schema_migrations", in: database) == migrations.count)
        }
    }

    @Test("an applied file whose checksum changed stops the runner with a message naming the file")
    func checksumRefusal() async throws {
        try await TemporaryDatabase.with(prefix: "migx") { database in
            _ = try await runner().run(url: database.url)
            var edited = migrations
            edited[0].sql += "\n-- an edit after the fact\n"
            let extra = Migration(version: 9999, fileName: "9999_never.sql", sql: "CREATE TABLE never_applied (x int);")
            await #expect {
                _ = try await MigrationRunner(migrations: edited + [extra], logger: TestServices.logger).run(url: database.url)
            } throws: { error in
                guard let error = error as? MigrationError else { return false }
                return error.code == .checksumMismatch && error.file == "0001_initial_schema.sql"
                    && error.description.contains("0001_initial_schema.sql")
            }
            // Nothing after the refusal was applied.
            #expect(try await count("SELECT count(*)::int FROM pg_tables WHERE tablename = 'never_applied'", in: database) == 0)
        }
    }

    @Test("a failing file rolls back entirely and names itself")
    func failingFileRollsBack() async throws {
        try await TemporaryDatabase.with(prefix: "migf") { (database: TemporaryDatabase) async throws in
            let broken = [
                Migration(version: 1, fileName: "0001_ok.sql", sql: "CREATE TABLE ok (x int);"),
                Migration(version: 2, fileName: "0002_broken.sql", sql: "CREATE TABLE half (x int); SELECT * FROM no_such_table;"),
            ]
            await #expect {
                _ = try await MigrationRunner(migrations: broken, logger: TestServices.logger).run(url: database.url)
            } throws: { error in
                (error as? MigrationError)?.file == "0002_broken.sql" && "\(error)".contains("no_such_table")
            }
            #expect(try await count("SELECT count(*)::int FROM pg_tables WHERE tablename IN ('ok', 'half')", in: database) == 1)
            #expect(try await count("SELECT count(*)::int FROM schema_migrations", in: database) == 1)
        }
    }

    @Test("file names without a version are refused, naming the file")
    func badFileName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 1;".write(to: directory.appendingPathComponent("add_people.sql"), atomically: true, encoding: .utf8)
        #expect {
            try MigrationDirectory.load(from: directory)
        } throws: { error in
            (error as? MigrationError)?.code == .badFileName && "\(error)".contains("add_people.sql")
        }
    }

    @Test("URLs print without their password")
    func redaction() throws {
        let url = try PostgresURL(parsing: "postgres://sync:s3cret@db.example:6543/engine")
        #expect(url.description == "postgres://sync:***@db.example:6543/engine")
        #expect(url.port == 6543 && url.password == "s3cret")
        #expect(throws: PostgresURLError.self) { try PostgresURL(parsing: "mysql://x@y/z") }
    }
}
