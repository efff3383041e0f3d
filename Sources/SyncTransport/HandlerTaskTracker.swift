import Synchronization

/// Owns the tasks running inbound requests, so shutdown can cancel them and wait for them.
final class HandlerTaskTracker: Sendable {
    private struct State {
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var lastKey: UInt64 = 0
        var isClosed = false
    }

    private let state = Mutex(State())

    /// Starts `body` in a task of its own; nil once shutdown has begun.
    func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        state.withLock { state in
            guard !state.isClosed else { return nil }
            state.lastKey &+= 1
            let key = state.lastKey
            // Created under the lock so the task's own removal (which takes the lock) always runs
            // after its insertion.
            let task = Task {
                await body()
                self.finished(key)
            }
            state.tasks[key] = task
            return task
        }
    }

    var runningCount: Int { state.withLock { $0.tasks.count } }

    /// Refuses new tasks, cancels the running ones and waits for them to return.
    func shutdown() async {
        let tasks = state.withLock { state in
            state.isClosed = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    private func finished(_ key: UInt64) {
        state.withLock { _ = $0.tasks.removeValue(forKey: key) }
    }
}
