import Foundation
import Logging
import PostgresNIO
import SyncPostgres

/// A throwaway database for one benchmark: created on the server the benchmark was pointed at,
/// migrated with the project's own migrations, and dropped afterwards, so a benchmark never touches
/// a database someone else uses and always starts from the same empty schema.
public struct BenchmarkDatabase: Sendable {
    /// The server (any database on it) where `bench_*` databases are created.
    public var server: PostgresURL
    public var migrations: [Migration]
    public var logger: Logger

    public init(server: PostgresURL, migrations: [Migration], logger: Logger) {
        self.server = server
        self.migrations = migrations
        self.logger = logger
    }

    /// Creates `bench_<purpose>_<random>`, migrates it (unless `migrated` is false), runs `body`
    /// with its URL, and drops it whether `body` succeeds or not.
    public func withFreshDatabase<T: Sendable>(
        purpose: String, migrated: Bool = true, _ body: (PostgresURL) async throws -> T
    ) async throws -> T {
        let name = "bench_\(purpose)_\(UInt32.random(in: 0...UInt32.max))"
        let url = server.with(database: name)
        try await Self.withConnection(to: server, logger: logger) { connection -> Void in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        do {
            if migrated { _ = try await MigrationRunner(migrations: migrations, logger: logger).run(url: url) }
            let result = try await body(url)
            try await drop(name)
            return result
        } catch {
            try? await drop(name)
            throw error
        }
    }

    private func drop(_ name: String) async throws {
        try await Self.withConnection(to: server, logger: logger) { connection -> Void in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// One connection for the duration of `body`, closed afterwards.
    public static func withConnection<T: Sendable>(
        to url: PostgresURL, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await PostgresConnection.connect(to: url, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A connection pool of up to `connections` connections, running for the duration of `body`.
    public static func withClient<T: Sendable>(
        to url: PostgresURL, connections: Int, logger: Logger, _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        var configuration = url.clientConfiguration
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            group.addTask { try await body(client) }
            while let result = try await group.next() {
                if let result { return result }
            }
            preconditionFailure("the Postgres client stopped before the benchmark finished")
        }
    }
}
