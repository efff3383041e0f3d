import AsyncHTTPClient
import Foundation
import NIOCore
import SyncPostgres

/// Real processes for end-to-end tests: the simulator and nodes, each a `syncengine` child process.
public enum EngineHarness {
    /// A fresh 32-byte key for `SYNC_TOKEN_KEY`.
    public static func tokenKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    /// `syncengine pco-sim` on a free loopback port; returns the process and its base URL.
    public static func startSimulator(orgs: Int = 1, people: Int, seed: Int = 1, extra: [String] = []) async throws -> (ChildProcess, String) {
        let (process, url) = try await ChildProcess.start(
            try TestServices.engineBinary(),
            ["pco-sim", "--listen", "127.0.0.1:0", "--orgs", String(orgs), "--people", String(people), "--seed", String(seed)] + extra,
            name: "pco-sim", readyPattern: #"http://127\.0\.0\.1:[0-9]+"#
        )
        return (process, url)
    }

    /// `syncengine node` on a free admin port against `database`; returns the process and its admin URL.
    /// Alone unless `extra` or `environment` name a Redis (an inherited `SYNC_REDIS_URL` is cleared).
    public static func startNode(database: PostgresURL, tokenKey: String, nodeID: String = "node-1", extra: [String] = [],
                                 environment: [String: String] = [:]) async throws -> (ChildProcess, String) {
        var env = ["SYNC_TOKEN_KEY": tokenKey, "SYNC_LOG_LEVEL": "info", "SYNC_REDIS_URL": ""]
        for (key, value) in environment { env[key] = value }
        let (process, line) = try await ChildProcess.start(
            try TestServices.engineBinary(),
            ["node", "--postgres", database.description, "--admin-listen", "127.0.0.1:0", "--node-id", nodeID,
             "--migrations", TestServices.migrationsDirectory.path] + extra,
            environment: env, name: nodeID, readyPattern: #"admin http://127\.0\.0\.1:[0-9]+"#
        )
        return (process, String(line.dropFirst("admin ".count)))
    }

    /// Runs a `syncengine` subcommand to completion; throws with its stderr when it fails.
    @discardableResult
    public static func engine(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let result = try await ProcessRunner.run(try TestServices.engineBinary(), arguments, environment: environment)
        guard result.status == 0 else {
            throw ChildProcessError(name: "syncengine \(arguments.first ?? "")", detail: "exit \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    public static func get(_ url: String) async throws -> (Int, Data) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 30)
        return (Int(response.status.code), Data(buffer: body))
    }

    public static func post(_ url: String, json: String) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 30)
        return (Int(response.status.code), Data(buffer: body))
    }

    public static func delete(_ url: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .DELETE
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    }
}
