import Foundation
import NIOPosix
import SyncTestSupport
import Testing
@testable import SyncRedis

@Suite("Redis client against the shared test Redis")
struct RedisClientTests {
    @Test("PING answers PONG")
    func ping() async throws {
        try await SharedRedis.withClient { client, _ async throws in
            #expect(try await client.send(["PING"]) == .status("PONG"))
        }
    }

    @Test("set then get returns the value, byte for byte; a missing key is nil")
    func setAndGet() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            for (index, value) in ["plain", "", "naïve 🚀 \u{0}nul inside", String(repeating: "x", count: 100_000)].enumerated() {
                #expect(try await client.set(prefix + "k\(index)", value))
                #expect(try await client.get(prefix + "k\(index)") == value)
            }
            #expect(try await client.get(prefix + "missing") == nil)
        }
    }

    @Test("SET NX refuses when the key exists and leaves its value")
    func onlyIfAbsent() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let key = prefix + "lease"
            #expect(try await client.set(key, "node-a", onlyIfAbsent: true))
            #expect(try await client.set(key, "node-b", onlyIfAbsent: true) == false)
            #expect(try await client.get(key) == "node-a")
        }
    }

    @Test("SET PX makes the key expire")
    func expiry() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let key = prefix + "short"
            #expect(try await client.set(key, "v", expireAfterMilliseconds: 200))
            // Milliseconds, not seconds; -2 (already gone) only if this busy machine took 200 ms to ask.
            let ttl = try #require(try await client.send(["PTTL", key]).integer)
            #expect(ttl == -2 || (1...200).contains(ttl), "PTTL \(ttl)")
            try await client.set(prefix + "forever", "v")
            #expect(try await client.send(["PTTL", prefix + "forever"]) == .integer(-1), "no PX, no expiry")
            let deadline = ContinuousClock.now + .seconds(3)
            while try await client.get(key) != nil {
                guard ContinuousClock.now < deadline else {
                    Issue.record("the key did not expire within 3 s")
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test("delete counts the keys that existed")
    func delete() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            try await client.set(prefix + "a", "1")
            try await client.set(prefix + "b", "2")
            #expect(try await client.delete([prefix + "a", prefix + "b", prefix + "never"]) == 2)
            #expect(try await client.get(prefix + "a") == nil)
            #expect(try await client.delete([]) == 0)
        }
    }

    @Test("scan finds exactly the matching keys, over many cursor rounds", arguments: [7, 500])
    func scan(batchSize: Int) async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let wanted = (0..<250).map { prefix + "match:\($0)" }
            let others = (0..<20).map { prefix + "other:\($0)" }
            let results = try await client.pipeline((wanted + others).map { ["SET", $0, "1"] })
            #expect(results.allSatisfy { (try? $0.get()) == .status("OK") })
            let found = try await client.scan(matching: prefix + "match:*", batchSize: batchSize)
            #expect(found.count == wanted.count, "no key twice")
            #expect(Set(found) == Set(wanted))
        }
    }

    @Test("mget returns values in order, nil for a missing key")
    func mget() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            try await client.set(prefix + "a", "1")
            try await client.set(prefix + "b", "2")
            #expect(try await client.mget([prefix + "a", prefix + "missing", prefix + "b"]) == ["1", nil, "2"])
            #expect(try await client.mget([]) == [])
        }
    }

    /// A lease renewal: extend the expiry only if the caller still holds the lease.
    static let compareAndExtend = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """

    @Test("a compare-and-extend script extends for the holder only")
    func evaluateCompareAndExtend() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let key = prefix + "lease"
            try await client.set(key, "node-a", expireAfterMilliseconds: 1_000)
            #expect(try await client.evaluate(Self.compareAndExtend, keys: [key], arguments: ["node-a", "60000"]) == .integer(1))
            let extended = try #require(try await client.send(["PTTL", key]).integer)
            #expect(extended > 50_000)
            #expect(try await client.evaluate(Self.compareAndExtend, keys: [key], arguments: ["node-b", "600000"]) == .integer(0))
            let after = try #require(try await client.send(["PTTL", key]).integer)
            #expect(after <= 60_000, "a non-holder must not extend")
            #expect(try await client.get(key) == "node-a")
            #expect(try await client.evaluate(Self.compareAndExtend, keys: [prefix + "absent"], arguments: ["node-a", "1000"]) == .integer(0))
        }
    }

    @Test("a script that raises an error throws a server error naming EVAL")
    func scriptError() async throws {
        try await SharedRedis.withClient { client, _ async throws in
            let error = await #expect(throws: RedisError.self) {
                try await client.evaluate("return redis.error_reply('lease lost')", keys: [], arguments: [])
            }
            #expect(error?.code == .serverError)
            #expect(error?.command == "EVAL")
            #expect(error?.detail.contains("lease lost") == true)
            #expect(try await client.send(["PING"]) == .status("PONG"), "a server error leaves the connection usable")
        }
    }

    @Test("a pipeline returns one result per command; a failing command fails alone")
    func pipeline() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let key = prefix + "counter"
            let results = try await client.pipeline([
                ["SET", key, "1"],
                ["INCR", key],
                ["LPUSH", key, "x"],
                ["GET", key],
            ])
            try #require(results.count == 4)
            #expect(try results[0].get() == .status("OK"))
            #expect(try results[1].get() == .integer(2))
            guard case .failure(let error) = results[2] else {
                Issue.record("LPUSH on a string succeeded: \(results[2])")
                return
            }
            #expect(error.code == .serverError && error.command == "LPUSH" && error.detail.contains("WRONGTYPE"))
            #expect(try results[3].get() == .bulk("2"))
            #expect(try await client.pipeline([]).isEmpty)
        }
    }

    @Test("a wrong-type command throws a server error naming the command, without its arguments, and the connection stays usable")
    func serverError() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            let key = prefix + "string"
            try await client.set(key, "v")
            let secret = "do-not-log-\(UUID().uuidString)"
            do {
                _ = try await client.send(["HSET", key, "field", secret])
                Issue.record("HSET on a string succeeded")
            } catch let error as RedisError {
                #expect(error.code == .serverError)
                #expect(error.command == "HSET")
                #expect(error.detail.contains("WRONGTYPE"))
                #expect(!"\(error)".contains(secret))
            }
            #expect(try await client.get(key) == "v")
        }
    }

    @Test("a closed loopback port fails fast with connectionFailed, every time")
    func connectionRefused() async throws {
        let port = try LoopbackPort.unused()
        let client = RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: port), threadPool: .singleton,
                                 logger: TestServices.logger)
        defer { client.close() }
        for _ in 0..<2 {
            let started = ContinuousClock.now
            do {
                _ = try await client.get("k")
                Issue.record("GET succeeded against a closed port")
            } catch let error as RedisError {
                #expect(error.code == .connectionFailed)
                #expect(error.command == "GET")
                #expect(error.endpoint == "redis://127.0.0.1:\(port)")
            }
            #expect(ContinuousClock.now - started < .milliseconds(900))
        }
    }

    @Test("after close every command fails with closed")
    func closed() async throws {
        let client = try SharedRedis.client()
        #expect(try await client.send(["PING"]) == .status("PONG"))
        client.close()
        let error = await #expect(throws: RedisError.self) { try await client.get("k") }
        #expect(error?.code == .closed)
    }

    @Test("concurrent commands on one client are serialized and all succeed")
    func concurrentCommands() async throws {
        try await SharedRedis.withClient { client, prefix async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await client.set(prefix + "c\(index)", "\(index)")
                        let value = try await client.get(prefix + "c\(index)")
                        #expect(value == "\(index)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await client.scan(matching: prefix + "c*").count == 50)
        }
    }
}
