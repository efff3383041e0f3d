import Logging
import PostgresNIO

/// Applies pending migrations in order, each in its own transaction, under a Postgres advisory lock.
///
/// Safe to run twice and from several processes at once: whoever gets the lock applies what is
/// pending, the others wait and then find nothing to do. Before applying anything it verifies that
/// every already applied file is unchanged, and refuses to continue, naming the file, if one is not.
public struct MigrationRunner: Sendable {
    /// An arbitrary constant: the advisory lock key all syncengine migrators agree on.
    static let advisoryLockKey: Int64 = 0x5359_4E43_4D49_4752  // "SYNCMIGR"

    public struct Outcome: Sendable, Hashable {
        public var applied: [String]
        public var alreadyApplied: Int
    }

    public var migrations: [Migration]
    public var logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Connects to `url`, migrates, and closes the connection.
    public func run(url: PostgresURL) async throws -> Outcome {
        let connection = try await PostgresConnection.connect(to: url, logger: logger)
        do {
            let outcome = try await run(on: connection)
            try await connection.close()
            return outcome
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Migrates over a connection the caller owns (the advisory lock is held by this session).
    public func run(on connection: PostgresConnection) async throws -> Outcome {
        try await connection.queryUnlessClosed("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
        do {
            let outcome = try await migrateLocked(connection)
            try await connection.queryUnlessClosed("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            return outcome
        } catch {
            _ = try? await connection.queryUnlessClosed("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            throw error
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> Outcome {
        try await connection.queryUnlessClosed("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer     PRIMARY KEY,
                file_name   text        NOT NULL,
                checksum    text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now(),
                duration_ms integer     NOT NULL
            )
            """, logger: logger)

        var applied: [Int: (fileName: String, checksum: String)] = [:]
        let rows = try await connection.queryUnlessClosed("SELECT version, file_name, checksum FROM schema_migrations", logger: logger)
        for try await (version, fileName, checksum) in rows.decode((Int, String, String).self) {
            applied[version] = (fileName, checksum)
        }

        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = byVersion[version] else {
                throw MigrationError(code: .appliedFileMissing, file: record.fileName, detail: "version \(version)")
            }
            if migration.checksum != record.checksum {
                throw MigrationError(
                    code: .checksumMismatch, file: migration.fileName,
                    detail: "recorded checksum \(record.checksum.prefix(12))…, file now \(migration.checksum.prefix(12))…"
                )
            }
        }

        var newlyApplied: [String] = []
        for migration in migrations where applied[migration.version] == nil {
            let started = ContinuousClock.now
            logger.info("applying migration", metadata: ["sync.migration": "\(migration.fileName)"])
            do {
                // One statement at a time (the extended protocol takes one per query); the explicit
                // transaction makes the whole file and its bookkeeping row commit together.
                try await connection.queryUnlessClosed("BEGIN", logger: logger)
                for statement in SQLStatementSplitter.split(migration.sql) {
                    try await connection.queryUnlessClosed(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let elapsed = ContinuousClock.now - started
                let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                try await connection.queryUnlessClosed("""
                    INSERT INTO schema_migrations (version, file_name, checksum, duration_ms)
                    VALUES (\(migration.version), \(migration.fileName), \(migration.checksum), \(milliseconds))
                    """, logger: logger)
                try await connection.queryUnlessClosed("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.queryUnlessClosed("ROLLBACK", logger: logger)
                throw MigrationError(code: .statementFailed, file: migration.fileName, detail: describePostgresError(error))
            }
            newlyApplied.append(migration.fileName)
        }
        return Outcome(applied: newlyApplied, alreadyApplied: applied.count)
    }
}
