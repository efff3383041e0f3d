import NIOPosix

/// A thread pool of the test's own, for tests that deliberately block hiredis calls (a paused server):
/// on the shared singleton pool those would hold up every other test's commands.
func withOwnThreadPool<Value>(_ body: (NIOThreadPool) async throws -> Value) async throws -> Value {
    let pool = NIOThreadPool(numberOfThreads: 2)
    pool.start()
    do {
        let value = try await body(pool)
        try await pool.shutdownGracefully()
        return value
    } catch {
        try? await pool.shutdownGracefully()
        throw error
    }
}
