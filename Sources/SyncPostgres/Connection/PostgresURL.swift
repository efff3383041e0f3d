import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database` URL, parsed once, printable without its password.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `sslmode=require` asks for TLS; anything else connects in the clear (loopback deployments).
    public var requireTLS: Bool

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, requireTLS: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
    }

    public init(parsing string: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else { throw PostgresURLError(url: Self.redact(string), problem: "expected postgres://user[:password]@host[:port]/database") }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresURLError(url: Self.redact(string), problem: "no host")
        }
        let database = String(components.path.drop { $0 == "/" })
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        self.database = database.isEmpty ? self.username : database
        self.requireTLS = components.queryItems?.contains { $0.name == "sslmode" && $0.value == "require" } ?? false
    }

    /// The URL with the password replaced, safe for logs and error messages.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        return "postgres://\(credentials)@\(host):\(port)/\(database)"
    }

    /// The same server, another database (tests create throwaway databases this way).
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }

    /// Settings of every session the engine opens. A transaction left open by a client that stopped
    /// answering (a frozen or hung node) holds its `FOR SHARE` lock on the shard fence, and the next
    /// owner's fence bump waits behind it; Postgres ends such a session after 3 s, so a shard moves
    /// within that bound whatever its old owner does. The engine never waits on anything but
    /// Postgres inside a transaction, so a healthy node is never near the bound.
    static let sessionSettings = [("idle_in_transaction_session_timeout", "3s")]

    static func redact(_ string: String) -> String {
        // user:secret@ -> user:***@, without needing the URL to parse.
        guard let at = string.firstIndex(of: "@"), let schemeEnd = string.range(of: "://")?.upperBound,
              schemeEnd < at, let colon = string[schemeEnd..<at].firstIndex(of: ":")
        else { return string }
        return String(string[..<colon]) + ":***" + String(string[at...])
    }
}

public struct PostgresURLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var url: String
    public var problem: String
    public var description: String { "invalid Postgres URL '\(url)': \(problem)" }
}
