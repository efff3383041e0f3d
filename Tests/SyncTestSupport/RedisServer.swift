import Foundation

/// A redis-server of a test's own on a loopback port, so a test can restart it (a Redis restart is
/// one of the faults the cluster must survive) without touching the shared test Redis.
public final class RedisServer: Sendable {
    public let port: Int
    private let holder: ProcessHolder

    public var url: String { "redis://127.0.0.1:\(port)" }

    private init(port: Int, process: ChildProcess) {
        self.port = port
        self.holder = ProcessHolder(process)
    }

    /// Starts one on a free port between 20000 and 29999 (a few tries: another test could take one).
    public static func start() async throws -> RedisServer {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Int.random(in: 20000..<30000)
            do { return RedisServer(port: port, process: try await launch(port: port)) } catch { lastError = error }
        }
        throw lastError ?? ChildProcessError(name: "redis-server", detail: "no free port")
    }

    private static func launch(port: Int) async throws -> ChildProcess {
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw ChildProcessError(name: "redis-server", detail: "not installed (cluster/test installs it)")
        }
        let (process, _) = try await ChildProcess.start(
            URL(fileURLWithPath: binary),
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
            name: "redis-\(port)", readyPattern: "Ready to accept connections", timeout: .seconds(10))
        return process
    }

    /// Stops it (SIGKILL) and starts it again, empty, on the same port.
    public func restart() async throws {
        holder.current.kill()
        holder.replace(try await Self.launch(port: port))
    }

    public func stop() { holder.current.kill() }
}

private final class ProcessHolder: @unchecked Sendable {
    // Guarded by the lock; the tests using it are serialized, the lock keeps it honest anyway.
    private let lock = NSLock()
    private var process: ChildProcess
    init(_ process: ChildProcess) { self.process = process }
    var current: ChildProcess { lock.withLock { process } }
    func replace(_ new: ChildProcess) { lock.withLock { process = new } }
}
