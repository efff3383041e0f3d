/// A failed Redis operation, with the command's name and the endpoint (password redacted).
public struct RedisError: Error, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The endpoint URL could not be parsed.
        case invalidEndpoint
        /// No connection could be opened (refused, unreachable, AUTH or SELECT rejected).
        case connectionFailed
        /// The connection broke while a command was in flight; the command may or may not have been applied.
        case connectionLost
        /// The server did not answer within the command timeout; the command may or may not have been applied.
        case timeout
        /// The server answered with an error reply (wrong type, script error, ...); the connection is fine.
        case serverError
        /// The reply was not what the protocol or the command promises.
        case protocolViolation
        /// The client was closed, or its thread pool is no longer running.
        case closed
    }

    public var code: Code
    /// The command's name only (`SET`, `EVAL`), never its arguments: they can hold secrets.
    public var command: String?
    /// The endpoint as printed by `RedisEndpoint.description` (no password).
    public var endpoint: String
    /// What happened: the server's error message, the socket error, or what was expected.
    public var detail: String

    public init(code: Code, command: String? = nil, endpoint: String, detail: String) {
        self.code = code
        self.command = command
        self.endpoint = endpoint
        self.detail = detail
    }

    public var description: String {
        let subject = command.map { "Redis \($0) on \(endpoint)" } ?? "Redis \(endpoint)"
        return "\(subject): \(code): \(detail)"
    }

    /// Whether the connection can no longer be trusted to be in step with the server and must be dropped.
    var invalidatesConnection: Bool {
        switch code {
        case .connectionLost, .timeout, .protocolViolation, .connectionFailed: true
        case .serverError, .invalidEndpoint, .closed: false
        }
    }

    /// The same error attributed to another command (a connection failure found while sending it).
    func attributed(to command: String) -> RedisError {
        var copy = self
        copy.command = copy.command ?? command
        return copy
    }
}
