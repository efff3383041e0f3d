import PostgresNIO

/// A one-line account of a Postgres failure for users and logs.
///
/// `PSQLError.description` is deliberately generic (it may otherwise leak data), so this picks out
/// what is useful: the server's message and SQLSTATE, or the underlying network error.
public func describePostgresError(_ error: any Error) -> String {
    guard let psql = error as? PSQLError else { return String(describing: error) }
    if let info = psql.serverInfo {
        let message = info[.message] ?? "unknown server error"
        let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        let detail = info[.detail].map { ": \($0)" } ?? ""
        return message + detail + state
    }
    if let underlying = psql.underlying {
        return "\(psql.code): \(underlying)"
    }
    return "\(psql.code)"
}

/// The SQLSTATE of a server error, if the error came from the server.
public func postgresSQLState(_ error: any Error) -> String? {
    (error as? PSQLError)?.serverInfo?[.sqlState]
}

/// Could not reach or log in to Postgres.
public struct PostgresUnavailableError: Error, Sendable, CustomStringConvertible {
    /// The URL with the password removed.
    public var url: String
    public var reason: String
    public var description: String { "cannot connect to Postgres at \(url): \(reason)" }
}

extension PostgresConnection {
    /// Connects, turning failures into a ``PostgresUnavailableError`` that names the (redacted) URL.
    public static func connect(to url: PostgresURL, logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            throw PostgresUnavailableError(url: url.description, reason: describePostgresError(error))
        }
    }
}
