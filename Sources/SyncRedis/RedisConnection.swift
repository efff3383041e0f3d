import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One hiredis connection in blocking mode. It is not thread-safe: its owner serializes every call (the
/// client's lock, or the subscriber's dedicated thread), and every call can block for up to the I/O timeout,
/// so none may run on Swift's cooperative pool.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// The endpoint as printed in errors (password redacted).
    let endpoint: String
    private let ioTimeout: Duration

    private init(context: UnsafeMutablePointer<redisContext>, endpoint: String, ioTimeout: Duration) {
        self.context = context
        self.endpoint = endpoint
        self.ioTimeout = ioTimeout
    }

    deinit {
        redisFree(context)
    }

    /// Connects, sets the read/write timeout, and sends `AUTH` and (unless `selectDatabase` is false) `SELECT`.
    static func open(
        to endpoint: RedisEndpoint, connectTimeout: Duration, ioTimeout: Duration, selectDatabase: Bool = true
    ) throws(RedisError) -> RedisConnection {
        _ = sigpipeIgnored
        let printable = endpoint.description
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(clamping: endpoint.port), timeval(connectTimeout)) else {
            throw RedisError(code: .connectionFailed, endpoint: printable, detail: "hiredis could not allocate a connection")
        }
        guard context.pointee.err == 0 else {
            let detail = Self.errorText(of: context)
            redisFree(context)
            throw RedisError(code: .connectionFailed, endpoint: printable, detail: "cannot connect: \(detail)")
        }
        // From here the connection owns the context and frees it when dropped, also on the error paths below.
        let connection = RedisConnection(context: context, endpoint: printable, ioTimeout: ioTimeout)
        // Without a socket timeout a stuck server (SIGSTOP, a dead network path) would hang the thread forever.
        guard redisSetTimeout(context, timeval(ioTimeout)) == REDIS_OK else {
            throw RedisError(code: .connectionFailed, endpoint: printable, detail: "cannot set the I/O timeout: \(Self.errorText(of: context))")
        }
        if let password = endpoint.password {
            try connection.handshake(["AUTH", password])
        }
        if selectDatabase, endpoint.database != 0 {
            try connection.handshake(["SELECT", String(endpoint.database)])
        }
        return connection
    }

    /// A command sent while connecting; any failure means there is no usable connection.
    private func handshake(_ arguments: [String]) throws(RedisError) {
        let name = arguments[0]
        let outcome: Result<RedisValue, RedisError>
        do throws(RedisError) {
            outcome = try execute(arguments)
        } catch {
            throw RedisError(code: .connectionFailed, command: name, endpoint: endpoint, detail: "\(name) failed: \(error.detail)")
        }
        if case .failure(let refusal) = outcome {
            throw RedisError(code: .connectionFailed, command: name, endpoint: endpoint, detail: "\(name) was refused: \(refusal.detail)")
        }
    }

    // MARK: Commands

    /// Sends one command and waits for its reply. A server error reply is a failed `Result`; an I/O or
    /// protocol failure throws, after which the connection must be dropped.
    func execute(_ arguments: [String]) throws(RedisError) -> Result<RedisValue, RedisError> {
        try append(arguments)
        return try nextReply(command: Self.commandName(arguments))
    }

    /// Sends several commands in one write and reads their replies in order.
    func executePipeline(_ commands: [[String]]) throws(RedisError) -> [Result<RedisValue, RedisError>] {
        for command in commands {
            try append(command)
        }
        var replies: [Result<RedisValue, RedisError>] = []
        replies.reserveCapacity(commands.count)
        for command in commands {
            replies.append(try nextReply(command: Self.commandName(command)))
        }
        return replies
    }

    /// Queues a command in hiredis' output buffer; nothing is written until a reply is read or `flush()`.
    func append(_ arguments: [String]) throws(RedisError) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        let status = Self.withArgv(arguments) { count, argv, lengths in
            redisAppendCommandArgv(context, count, argv, lengths)
        }
        guard status == REDIS_OK else { throw failure(command: Self.commandName(arguments), errno: errno) }
    }

    /// Writes the output buffer and blocks until the next reply has arrived.
    private func nextReply(command: String) throws(RedisError) -> Result<RedisValue, RedisError> {
        var raw: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &raw)
        let savedErrno = errno
        guard status == REDIS_OK else { throw failure(command: command, errno: savedErrno) }
        guard let raw else {
            throw RedisError(code: .protocolViolation, command: command, endpoint: endpoint, detail: "hiredis returned no reply")
        }
        defer { freeReplyObject(raw) }
        return decoded(raw.assumingMemoryBound(to: redisReply.self), command: command)
    }

    /// Whether the server closed (or wrote to) the connection while no reply was outstanding. Redis sends
    /// nothing unasked outside pub/sub, so a readable idle socket means it was closed, for example by a
    /// server restart: the caller reconnects before sending rather than losing the command.
    var wasClosedWhileIdle: Bool {
        waitUntilReadable(milliseconds: 0)
    }

    // MARK: Reading without blocking (the subscriber's loop)

    /// Writes whatever is queued in the output buffer.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure(command: nil, errno: errno) }
        }
    }

    /// A reply already received and buffered, without touching the socket; nil if none is complete yet.
    func bufferedReply() throws(RedisError) -> Result<RedisValue, RedisError>? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw failure(command: nil, errno: errno) }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return decoded(raw.assumingMemoryBound(to: redisReply.self), command: nil)
    }

    /// Waits up to `milliseconds` for the socket to become readable (data, end of file or an error).
    func waitUntilReadable(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Reads what the socket holds into hiredis' buffer; call it only after `waitUntilReadable` said yes,
    /// so it does not block.
    func readIntoBuffer() throws(RedisError) {
        guard redisBufferRead(context) == REDIS_OK else { throw failure(command: nil, errno: errno) }
    }

    // MARK: Replies and errors

    private func decoded(_ reply: UnsafePointer<redisReply>, command: String?) -> Result<RedisValue, RedisError> {
        switch Self.value(of: reply) {
        case .success(let value):
            .success(value)
        case .failure(let message):
            .failure(RedisError(code: .serverError, command: command, endpoint: endpoint, detail: message.text))
        }
    }

    /// A server error message; nested inside an array (an `EXEC` result), it fails the whole reply.
    private struct ServerMessage: Error {
        var text: String
    }

    private static func value(of reply: UnsafePointer<redisReply>) -> Result<RedisValue, ServerMessage> {
        let type = reply.pointee.type
        switch type {
        case REDIS_REPLY_STRING: return .success(.bulk(text(of: reply)))
        case REDIS_REPLY_STATUS: return .success(.status(text(of: reply)))
        case REDIS_REPLY_INTEGER: return .success(.integer(Int64(reply.pointee.integer)))
        case REDIS_REPLY_NIL: return .success(.null)
        case REDIS_REPLY_ERROR: return .failure(ServerMessage(text: text(of: reply)))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(reply.pointee.elements)
            for index in 0..<reply.pointee.elements {
                guard let element = reply.pointee.element[index] else {
                    elements.append(.null)
                    continue
                }
                switch value(of: element) {
                case .success(let value): elements.append(value)
                case .failure(let message): return .failure(ServerMessage(text: "element \(index): \(message.text)"))
                }
            }
            return .success(.array(elements))
        default:
            // hiredis' reader only produces the six types above.
            preconditionFailure("hiredis returned a reply of unknown type \(type)")
        }
    }

    private static func text(of reply: UnsafePointer<redisReply>) -> String {
        guard let bytes = reply.pointee.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: reply.pointee.len), as: UTF8.self)
    }

    /// Turns hiredis' sticky error state into an error; `errno` must be read right after the failing call.
    private func failure(command: String?, errno savedErrno: Int32) -> RedisError {
        let detail = Self.errorText(of: context)
        let code: RedisError.Code
        let message: String
        switch context.pointee.err {
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK:
            // SO_RCVTIMEO/SO_SNDTIMEO from redisSetTimeout expired.
            code = .timeout
            message = "no answer within \(ioTimeout)"
        case REDIS_ERR_EOF:
            code = .connectionLost
            message = "the server closed the connection"
        case REDIS_ERR_PROTOCOL:
            code = .protocolViolation
            message = detail
        case 0:
            code = .protocolViolation
            message = "hiredis failed without saying why"
        default:
            code = .connectionLost
            message = detail
        }
        return RedisError(code: code, command: command, endpoint: endpoint, detail: message)
    }

    private static func errorText(of context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { bytes in
            let length = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes.prefix(length), as: UTF8.self)
        }
    }

    static func commandName(_ arguments: [String]) -> String {
        arguments.first?.uppercased() ?? ""
    }

    /// Lays the arguments out as hiredis' (argc, argv, argvlen), with explicit lengths so any bytes pass.
    private static func withArgv<Result>(
        _ arguments: [String],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(bytes.count)
            lengths.append(argument.utf8.count)
            bytes.append(contentsOf: argument.utf8)
        }
        // A trailing byte keeps the buffer non-empty, so even all-empty arguments have a valid base address.
        bytes.append(0)
        return bytes.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }
}

/// hiredis writes with write(2), which raises SIGPIPE on a socket the server has reset, and SIGPIPE's
/// default action kills the process. SwiftNIO ignores SIGPIPE process-wide on Linux for the same reason
/// (NIOPosix/SocketProtocols.swift); this does the same, once, before the first connection.
private let sigpipeIgnored: Bool = {
    _ = signal(SIGPIPE, SIG_IGN)
    return true
}()

extension timeval {
    /// At least a millisecond: a zero timeval means "no timeout" to setsockopt, the opposite of the intent.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = max(duration, .milliseconds(1)).components
        self.init(tv_sec: .init(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
    }
}
