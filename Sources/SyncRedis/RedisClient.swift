import Logging
import NIOCore
import NIOPosix

/// A Redis client over one hiredis connection. hiredis blocks, so every command runs on the caller's
/// `NIOThreadPool`, never on Swift's cooperative pool; one client's commands are serialized (see
/// `RedisConnectionSlot`).
///
/// After an I/O error or timeout the connection is dropped and the next command reconnects, so the client
/// outlives a Redis restart. A failed command is never retried: it may have been applied. A connection the
/// server closed while idle is noticed before sending, so a restart between commands costs nothing.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let threadPool: NIOThreadPool
    private let connectTimeout: Duration
    private let commandTimeout: Duration
    private let logger: Logger
    private let slot: RedisConnectionSlot

    /// - Parameters:
    ///   - threadPool: runs the blocking hiredis calls; it must be started and outlive the client's use.
    ///   - connectTimeout: how long opening a connection may take.
    ///   - commandTimeout: how long one read or write may wait; a stuck server then yields `.timeout`.
    public init(
        endpoint: RedisEndpoint,
        threadPool: NIOThreadPool,
        connectTimeout: Duration = .seconds(1),
        commandTimeout: Duration = .seconds(2),
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.threadPool = threadPool
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        var logger = logger
        logger[metadataKey: "sync.redis"] = "\(endpoint)"
        self.logger = logger
        self.slot = RedisConnectionSlot(endpoint: endpoint.description)
    }

    // MARK: Commands

    /// Sends one command (`["SET", "key", "value"]`; it must not be empty). A server error reply throws
    /// `RedisError(.serverError)`; an I/O failure or timeout throws and drops the connection, and the command
    /// is not retried, since it may have been applied.
    public func send(_ arguments: [String]) async throws -> RedisValue {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        return try await onConnection(command: RedisConnection.commandName(arguments)) { connection throws(RedisError) in
            try connection.execute(arguments)
        }.get()
    }

    /// The value of `key`, or nil if it does not exist.
    public func get(_ key: String) async throws -> String? {
        let reply = try await send(["GET", key])
        switch reply {
        case .bulk(let value): return value
        case .null: return nil
        default: throw unexpected(reply, from: "GET", expected: "a bulk string or nil")
        }
    }

    /// `SET key value [NX] [PX ms]`; returns whether the value was set (with `onlyIfAbsent`, an existing key refuses).
    @discardableResult
    public func set(
        _ key: String, _ value: String, onlyIfAbsent: Bool = false, expireAfterMilliseconds: Int64? = nil
    ) async throws -> Bool {
        var arguments = ["SET", key, value]
        if onlyIfAbsent { arguments.append("NX") }
        if let expireAfterMilliseconds { arguments += ["PX", String(expireAfterMilliseconds)] }
        let reply = try await send(arguments)
        switch reply {
        case .status: return true
        case .null: return false
        default: throw unexpected(reply, from: "SET", expected: "OK or nil")
        }
    }

    /// Deletes the keys; returns how many existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await integer(["DEL"] + keys)
    }

    /// Publishes a message; returns how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, _ message: String) async throws -> Int {
        try await integer(["PUBLISH", channel, message])
    }

    /// All keys matching a glob pattern, in no particular order. Uses `SCAN` (never `KEYS`, which blocks the
    /// server), `batchSize` being its `COUNT` hint per round trip; keys added or removed during the scan may
    /// or may not be included.
    public func scan(matching pattern: String, batchSize: Int = 500) async throws -> [String] {
        precondition(batchSize > 0, "SCAN needs a positive COUNT")
        var cursor = "0"
        var seen: Set<String> = []
        var keys: [String] = []
        repeat {
            let reply = try await send(["SCAN", cursor, "MATCH", pattern, "COUNT", String(batchSize)])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                  case .array(let batch) = parts[1]
            else { throw unexpected(reply, from: "SCAN", expected: "[cursor, [keys]]") }
            for element in batch {
                guard let key = element.string else { throw unexpected(reply, from: "SCAN", expected: "string keys") }
                // SCAN may return a key more than once.
                if seen.insert(key).inserted { keys.append(key) }
            }
            cursor = next
        } while cursor != "0"
        return keys
    }

    /// The values of the keys, in order; nil for a missing key.
    public func mget(_ keys: [String]) async throws -> [String?] {
        guard !keys.isEmpty else { return [] }
        let reply = try await send(["MGET"] + keys)
        guard case .array(let elements) = reply, elements.count == keys.count else {
            throw unexpected(reply, from: "MGET", expected: "an array of \(keys.count) values")
        }
        return try elements.map { element in
            switch element {
            case .bulk(let value): return value
            case .null: return nil
            default: throw unexpected(reply, from: "MGET", expected: "bulk strings or nil")
            }
        }
    }

    /// `EVAL script numkeys keys... args...`. An error raised by the script throws `.serverError`.
    public func evaluate(_ script: String, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await send(["EVAL", script, String(keys.count)] + keys + arguments)
    }

    /// Sends the commands in one round trip and returns one result per command, in order; a server error
    /// fails only its own command. An I/O error throws for the whole pipeline (some commands may have been
    /// applied) and drops the connection.
    public func pipeline(_ commands: [[String]]) async throws -> [Result<RedisValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        for command in commands {
            precondition(!command.isEmpty, "a Redis command needs at least its name")
        }
        return try await onConnection(command: "PIPELINE") { connection throws(RedisError) in
            try connection.executePipeline(commands)
        }
    }

    /// Closes the connection; later commands fail with `.closed`. Never blocks: a command in flight still
    /// completes, and the connection is freed right after it.
    public func close() {
        slot.close()
    }

    // MARK: Running on the thread pool

    private func integer(_ arguments: [String]) async throws -> Int {
        let reply = try await send(arguments)
        guard let value = reply.integer else {
            throw unexpected(reply, from: RedisConnection.commandName(arguments), expected: "an integer")
        }
        return Int(value)
    }

    /// Runs `body` on the connection, on a pool thread.
    private func onConnection<Value: Sendable>(
        command: String, _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> Value
    ) async throws -> Value {
        let endpoint = endpoint
        let connectTimeout = connectTimeout
        let commandTimeout = commandTimeout
        let logger = logger
        let slot = slot
        do {
            return try await threadPool.runIfActive { () throws(RedisError) -> Value in
                try slot.withConnection(
                    open: { () throws(RedisError) -> RedisConnection in
                        do throws(RedisError) {
                            let connection = try RedisConnection.open(
                                to: endpoint, connectTimeout: connectTimeout, ioTimeout: commandTimeout
                            )
                            logger.debug("connected to Redis")
                            return connection
                        } catch {
                            throw error.attributed(to: command)
                        }
                    },
                    onDrop: { error in
                        logger.notice("dropping the Redis connection; a command opens a new one", metadata: [
                            "sync.redis.error": "\(error)",
                        ])
                    },
                    body
                )
            }
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw RedisError(code: .closed, command: command, endpoint: endpoint.description,
                             detail: "the thread pool that runs Redis commands is not running")
        }
    }

    private func unexpected(_ reply: RedisValue, from command: String, expected: String) -> RedisError {
        RedisError(code: .protocolViolation, command: command, endpoint: endpoint.description,
                   detail: "expected \(expected), got \(reply)")
    }
}
