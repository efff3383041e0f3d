import Synchronization

/// The client's single connection: opened on first use, dropped after an I/O error or timeout, reopened by
/// the next command. Every use holds the lock for the whole round trip, which serializes one client's
/// commands; that is fine because Redis answers in microseconds and callers wanting parallelism make more
/// clients.
///
/// `@unchecked Sendable` is sound because the connection (a raw hiredis context, not thread-safe) is only
/// reached inside `lock.withLock`, so at most one thread touches it at a time, and it never escapes the lock.
final class RedisConnectionSlot: @unchecked Sendable {
    private let lock = Mutex(())
    private var connection: RedisConnection?
    /// Outside the lock so that `close()` never waits for a command in flight.
    private let isClosed = Atomic(false)
    /// The endpoint as printed in errors (password redacted).
    private let endpoint: String

    init(endpoint: String) {
        self.endpoint = endpoint
    }

    /// Runs `body` on the open connection, opening one first if needed. An error that leaves the connection
    /// out of step with the server (I/O failure, timeout) drops it, so the next call reconnects.
    func withConnection<Value: Sendable>(
        open: () throws(RedisError) -> RedisConnection,
        onDrop: (RedisError) -> Void,
        _ body: (RedisConnection) throws(RedisError) -> Value
    ) throws(RedisError) -> Value {
        // A close() that came while this call held the lock could not drop the connection; do it now.
        defer { if isClosed.load(ordering: .acquiring) { dropIfIdle() } }
        return try lock.withLock { _ throws(RedisError) -> Value in
            guard !isClosed.load(ordering: .acquiring) else {
                connection = nil
                throw RedisError(code: .closed, endpoint: endpoint, detail: "the client was closed")
            }
            if let idle = connection, idle.wasClosedWhileIdle {
                // Nothing has been sent yet, so reconnecting cannot apply a command twice.
                onDrop(RedisError(code: .connectionLost, endpoint: idle.endpoint, detail: "the server closed the idle connection"))
                connection = nil
            }
            let current: RedisConnection
            if let existing = connection {
                current = existing
            } else {
                current = try open()
                connection = current
            }
            do throws(RedisError) {
                return try body(current)
            } catch {
                if error.invalidatesConnection {
                    connection = nil
                    onDrop(error)
                }
                throw error
            }
        }
    }

    /// Later calls fail with `.closed`. Never waits: if a command is in flight, the connection is freed as
    /// soon as it finishes.
    func close() {
        isClosed.store(true, ordering: .releasing)
        dropIfIdle()
    }

    private func dropIfIdle() {
        // If another call holds the lock, it runs this again after releasing it (the defer above).
        _ = lock.withLockIfAvailable { _ in connection = nil }
    }
}
