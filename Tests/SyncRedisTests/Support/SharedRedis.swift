import Foundation
import NIOPosix
import SyncRedis
import SyncTestSupport

/// The shared test Redis (`SYNC_TEST_REDIS_URL`). Other tests use it at the same time, so every test works
/// under its own key prefix and deletes its keys.
enum SharedRedis {
    static func endpoint() throws -> RedisEndpoint {
        try RedisEndpoint(parsing: TestServices.redisURL())
    }

    static func client(commandTimeout: Duration = .seconds(2)) throws -> RedisClient {
        RedisClient(endpoint: try endpoint(), threadPool: .singleton, commandTimeout: commandTimeout, logger: TestServices.logger)
    }

    /// A prefix no other test uses: `syncredis-test:<uuid>:`.
    static func uniquePrefix() -> String {
        "syncredis-test:\(UUID().uuidString):"
    }

    /// Runs `body` with a fresh client and prefix; deletes the prefix's keys and closes the client afterwards.
    static func withClient(_ body: (RedisClient, String) async throws -> Void) async throws {
        let client = try client()
        let prefix = uniquePrefix()
        do {
            try await body(client, prefix)
        } catch {
            try? await cleanUp(prefix, with: client)
            client.close()
            throw error
        }
        try await cleanUp(prefix, with: client)
        client.close()
    }

    private static func cleanUp(_ prefix: String, with client: RedisClient) async throws {
        try await client.delete(client.scan(matching: prefix + "*"))
    }
}
