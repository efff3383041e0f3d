import Foundation
import Logging
import PostgresNIO
import SyncPostgres

/// A database of its own for one test, created on the test Postgres server and dropped afterwards,
/// so tests that run in parallel never see each other's rows.
public struct TemporaryDatabase: Sendable {
    public let url: PostgresURL
    let adminURL: PostgresURL

    public static func create(prefix: String = "t") async throws -> TemporaryDatabase {
        let admin = try TestServices.postgresURL()
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let connection = try await PostgresConnection.connect(to: admin, logger: TestServices.logger)
        defer { Task { try? await connection.close() } }
        _ = try await connection.simpleQuery("CREATE DATABASE \"\(name)\"").get()
        return TemporaryDatabase(url: admin.with(database: name), adminURL: admin)
    }

    /// Runs `body` with a fresh database and drops it afterwards, whatever happens.
    public static func with<T: Sendable>(
        prefix: String = "t", _ body: (TemporaryDatabase) async throws -> T
    ) async throws -> T {
        let database = try await create(prefix: prefix)
        do {
            let result = try await body(database)
            try await database.drop()
            return result
        } catch {
            try? await database.drop()
            throw error
        }
    }

    public func drop() async throws {
        let connection = try await PostgresConnection.connect(to: adminURL, logger: TestServices.logger)
        _ = try await connection.simpleQuery("DROP DATABASE IF EXISTS \"\(url.database)\" WITH (FORCE)").get()
        try await connection.close()
    }

    /// Opens a connection to this database; the caller closes it.
    public func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(to: url, logger: TestServices.logger)
    }
}

extension TemporaryDatabase {
    /// A fresh database with every migration of `Migrations/` applied.
    public static func withMigrated<T: Sendable>(
        prefix: String = "t", _ body: (TemporaryDatabase) async throws -> T
    ) async throws -> T {
        try await with(prefix: prefix) { database in
            let migrations = try MigrationDirectory.load(from: TestServices.migrationsDirectory)
            _ = try await MigrationRunner(migrations: migrations, logger: TestServices.logger).run(url: database.url)
            return try await body(database)
        }
    }
}
