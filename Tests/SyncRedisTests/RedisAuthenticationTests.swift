import Foundation
import NIOPosix
import SyncTestSupport
import Testing
@testable import SyncRedis

@Suite("AUTH and SELECT against a password-protected redis-server")
struct RedisAuthenticationTests {
    static let password = "correct horse \(UUID().uuidString)"

    @Test("the right password connects, and the database is selected")
    func authenticatesAndSelects() async throws {
        let server = try OwnedRedisServer(extraArguments: ["--requirepass", Self.password])
        try server.start()
        defer { server.stop() }
        var endpoint = server.endpoint
        endpoint.password = Self.password
        endpoint.database = 3
        let inDatabase3 = RedisClient(endpoint: endpoint, threadPool: .singleton, logger: TestServices.logger)
        defer { inDatabase3.close() }
        try await inDatabase3.set("k", "three")
        endpoint.database = 0
        let inDatabase0 = RedisClient(endpoint: endpoint, threadPool: .singleton, logger: TestServices.logger)
        defer { inDatabase0.close() }
        #expect(try await inDatabase0.get("k") == nil)
        #expect(try await inDatabase3.get("k") == "three")
    }

    @Test("a wrong password fails the connection, naming AUTH but not the password")
    func wrongPassword() async throws {
        let server = try OwnedRedisServer(extraArguments: ["--requirepass", Self.password])
        try server.start()
        defer { server.stop() }
        var endpoint = server.endpoint
        endpoint.password = "wrong-\(UUID().uuidString)"
        let client = RedisClient(endpoint: endpoint, threadPool: .singleton, logger: TestServices.logger)
        defer { client.close() }
        do {
            _ = try await client.get("k")
            Issue.record("GET succeeded with a wrong password")
        } catch let error as RedisError {
            #expect(error.code == .connectionFailed)
            #expect(error.command == "AUTH")
            #expect(!"\(error)".contains(endpoint.password!))
        }
    }

    @Test("without a password the server's NOAUTH refusal is a server error")
    func missingPassword() async throws {
        let server = try OwnedRedisServer(extraArguments: ["--requirepass", Self.password])
        try server.start()
        defer { server.stop() }
        let client = RedisClient(endpoint: server.endpoint, threadPool: .singleton, logger: TestServices.logger)
        defer { client.close() }
        let error = await #expect(throws: RedisError.self) { try await client.get("k") }
        #expect(error?.code == .serverError)
        #expect(error?.command == "GET")
        #expect(error?.detail.contains("NOAUTH") == true)
    }
}
