import Testing
@testable import SyncRedis

@Suite("Redis endpoint URLs")
struct RedisEndpointTests {
    @Test("a full URL gives host, port, decoded password and database")
    func fullURL() throws {
        let endpoint = try RedisEndpoint(parsing: "redis://:s3cr%40t@cache.internal:6380/2")
        #expect(endpoint == RedisEndpoint(host: "cache.internal", port: 6380, password: "s3cr@t", database: 2))
    }

    @Test("port and database default to 6379 and 0", arguments: ["redis://127.0.0.1", "redis://127.0.0.1/", "REDIS://127.0.0.1"])
    func defaults(url: String) throws {
        #expect(try RedisEndpoint(parsing: url) == RedisEndpoint(host: "127.0.0.1", port: 6379))
    }

    @Test("an IPv6 literal in brackets")
    func ipv6() throws {
        let endpoint = try RedisEndpoint(parsing: "redis://[::1]:7000/1")
        #expect(endpoint == RedisEndpoint(host: "::1", port: 7000, database: 1))
        #expect(endpoint.description == "redis://[::1]:7000/1")
    }

    @Test("a password holding '/' and '@' unencoded still parses, and is never printed")
    func unencodedPassword() throws {
        let endpoint = try RedisEndpoint(parsing: "redis://:pa/ss@word@10.0.0.5:6390/3")
        #expect(endpoint == RedisEndpoint(host: "10.0.0.5", port: 6390, password: "pa/ss@word", database: 3))
        #expect(!endpoint.description.contains("pa/ss"))
    }

    @Test("the description redacts the password and round-trips otherwise")
    func description() throws {
        let secret = RedisEndpoint(host: "h", port: 6379, password: "hunter2", database: 4)
        #expect(secret.description == "redis://:***@h:6379/4")
        #expect(!"\(secret)".contains("hunter2"))
        let plain = RedisEndpoint(host: "h", port: 6381)
        #expect(try RedisEndpoint(parsing: plain.description) == plain)
    }

    @Test("malformed URLs are refused with a reason", arguments: [
        ("127.0.0.1:6379", "expected redis://"),
        ("http://h:6379", "scheme 'http'"),
        ("rediss://h", "TLS"),
        ("redis://", "no host"),
        ("redis://:pw@", "no host"),
        ("redis://h:notaport", "port 'notaport'"),
        ("redis://h:70000", "port '70000'"),
        ("redis://h:", "port ''"),
        ("redis://h/x", "database 'x'"),
        ("redis://h/-1", "database '-1'"),
        ("redis://user:pw@h", "username"),
        ("redis://h?db=1", "query"),
        ("redis://::1", "brackets"),
        ("redis://[::1", "unterminated"),
    ])
    func malformed(url: String, reason: String) {
        let error = #expect(throws: RedisError.self) { try RedisEndpoint(parsing: url) }
        #expect(error?.code == .invalidEndpoint)
        #expect(error?.detail.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("an error about a URL with a password does not contain the password")
    func errorRedactsPassword() {
        for url in ["redis://:hunter2@h:bad", "redis://:hunter2@h/db", "redis://admin:hunter2@h", "redis://:hun/ter2@h:x"] {
            let error = #expect(throws: RedisError.self) { try RedisEndpoint(parsing: url) }
            #expect(error?.code == .invalidEndpoint)
            let printed = error.map { "\($0)" } ?? ""
            #expect(!printed.contains("hunter2") && !printed.contains("hun/ter2"), "\(printed)")
        }
    }
}
