import Foundation
import Logging
import PostgresNIO
import SyncPostgres

/// Where the real services of the integration tests are. `cluster/test` starts them and sets the
/// variables; a test that needs one and finds no variable fails with instructions rather than skipping.
public enum TestServices {
    public struct Missing: Error, CustomStringConvertible {
        public var variable: String
        public var description: String {
            "\(variable) is not set: run the tests through cluster/test (it starts Postgres and Redis), "
                + "or start them with `eval \"$(cluster/services start)\"`"
        }
    }

    public static func postgresURL() throws -> PostgresURL {
        guard let value = ProcessInfo.processInfo.environment["SYNC_TEST_POSTGRES_URL"] else {
            throw Missing(variable: "SYNC_TEST_POSTGRES_URL")
        }
        return try PostgresURL(parsing: value)
    }

    /// The test Redis, `redis://host:port` (from `SYNC_TEST_REDIS_URL`).
    public static func redisURL() throws -> String {
        guard let value = ProcessInfo.processInfo.environment["SYNC_TEST_REDIS_URL"] else {
            throw Missing(variable: "SYNC_TEST_REDIS_URL")
        }
        return value
    }

    public static let logger: Logger = {
        var logger = Logger(label: "syncengine.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The package root, found from this file's location.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var migrationsDirectory: URL { packageRoot.appendingPathComponent("Migrations") }

    /// The `syncengine` executable built next to the test bundle (or `SYNC_ENGINE_BINARY`).
    public static func engineBinary() throws -> URL {
        if let explicit = ProcessInfo.processInfo.environment["SYNC_ENGINE_BINARY"] {
            return URL(fileURLWithPath: explicit)
        }
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("syncengine"),
            Bundle.main.bundleURL.appendingPathComponent("syncengine"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("syncengine"),
            packageRoot.appendingPathComponent(".build/debug/syncengine"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw Missing(variable: "SYNC_ENGINE_BINARY (no built syncengine next to the tests; run `swift build --build-tests`)")
        }
        return found
    }
}

extension TestServices {
    /// The recorded real PCO responses (`shared/fixtures/pco-recorded` beside the repository, or
    /// `SYNC_PCO_FIXTURES`): `{"request": {"method", "path", "body"}, "response": {"status", "headers", "body"}}`.
    public static func recordedFixtures() throws -> [URL] {
        let directory = ProcessInfo.processInfo.environment["SYNC_PCO_FIXTURES"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/pco-recorded")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw Missing(variable: "SYNC_PCO_FIXTURES (no recorded fixtures at \(directory.path))")
        }
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0) }
    }
}
