import Foundation

/// Where a Redis server is and how to log in: `redis://[:password@]host[:port][/db]`.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Sent with `AUTH` after connecting; never printed.
    public var password: String?
    /// Chosen with `SELECT` after connecting (pub/sub ignores it: channels are server-wide).
    public var database: Int

    public static let defaultPort = 6379

    public init(host: String, port: Int, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

    /// Parses `redis://[:password@]host[:port][/db]`; the port defaults to 6379 and the database to 0.
    /// A percent-encoded password is decoded. Errors name what is wrong and never contain the password.
    public init(parsing url: String) throws(RedisError) {
        func invalid(_ detail: String) -> RedisError {
            RedisError(code: .invalidEndpoint, endpoint: Self.redact(url), detail: detail)
        }
        let schemeSeparator = "://"
        guard let schemeEnd = url.range(of: schemeSeparator) else {
            throw invalid("expected redis://[:password@]host[:port][/db]")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            throw invalid(scheme == "rediss"
                ? "TLS (rediss://) is not supported: hiredis 0.14 speaks plain TCP only"
                : "scheme '\(scheme)' is not redis://")
        }
        let rest = url[schemeEnd.upperBound...]
        // The credentials end at the last '@' (a password may hold an unencoded '/' or '@'; a host or
        // database never does), the host at the next '/'.
        var hostAndPath = rest
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostAndPath = rest[rest.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":")
            let username = userInfo[..<(colon ?? userInfo.endIndex)]
            guard username.isEmpty else {
                throw invalid("a username (Redis ACL user '\(username)') is not supported: write redis://:password@host")
            }
            if let colon {
                let encoded = String(userInfo[userInfo.index(after: colon)...])
                guard let decoded = encoded.removingPercentEncoding else {
                    throw invalid("the password is not valid percent-encoding")
                }
                password = decoded.isEmpty ? nil : decoded
            }
        }

        if hostAndPath.contains("?") || hostAndPath.contains("#") {
            throw invalid("query parameters and fragments are not supported")
        }
        let authorityEnd = hostAndPath.firstIndex(of: "/") ?? hostAndPath.endIndex
        let authority = hostAndPath[..<authorityEnd]
        let path = hostAndPath[authorityEnd...]

        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1] or [::1]:6380.
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address '\(authority)'") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterClose = authority[authority.index(after: close)...]
            if !afterClose.isEmpty {
                guard afterClose.hasPrefix(":") else { throw invalid("unexpected '\(afterClose)' after the IPv6 address") }
                portText = afterClose.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw invalid("an IPv6 address must be written in brackets, e.g. redis://[::1]:6379") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw invalid("no host") }

        var port = Self.defaultPort
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw invalid("port '\(portText)' is not a number from 1 to 65535")
            }
            port = parsed
        }

        var database = 0
        let databaseText = path.drop { $0 == "/" }
        if !databaseText.isEmpty {
            guard let parsed = Int(databaseText), parsed >= 0 else {
                throw invalid("database '\(databaseText)' is not a non-negative integer")
            }
            database = parsed
        }
        self.init(host: String(host), port: port, password: password, database: database)
    }

    /// The endpoint as a URL with the password replaced by `***`, safe for logs and errors.
    public var description: String {
        let credentials = password == nil ? "" : ":***@"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let databasePart = database == 0 ? "" : "/\(database)"
        return "redis://\(credentials)\(hostPart):\(port)\(databasePart)"
    }

    /// `redis://:secret@host` -> `redis://:***@host`, for a URL that did not parse.
    static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://")?.upperBound, let at = url[schemeEnd...].lastIndex(of: "@") else {
            return url
        }
        return String(url[..<schemeEnd]) + "***" + String(url[at...])
    }
}
