import Synchronization

/// Runs `body` but gives up after `limit`, so that a regression that blocks forever (a hiredis call without
/// a socket timeout, say) fails the test instead of hanging the run. The body keeps running detached; the
/// test's cleanup (stopping its server) is what unblocks it.
func withDeadline<Value: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let pending = Mutex<CheckedContinuation<Value, any Error>?>(continuation)
        let finish: @Sendable (Result<Value, any Error>) -> Void = { result in
            pending.withLock { $0.take() }?.resume(with: result)
        }
        Task {
            do { finish(.success(try await body())) } catch { finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: limit)
            finish(.failure(DeadlinePassed(what: what, limit: limit)))
        }
    }
}

struct DeadlinePassed: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "\(what) did not finish within \(limit)" }
}
