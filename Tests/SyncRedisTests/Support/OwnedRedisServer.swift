import Foundation
@testable import SyncRedis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A redis-server this test started itself, on a free loopback port in a temporary directory, so it can
/// be killed, paused and restarted without disturbing the shared test Redis. Stopped only by its pid.
///
/// Spawned with posix_spawn rather than Foundation's `Process`: the test runner's threads block some
/// signals, a child inherits that mask, and a redis-server with SIGTERM blocked never shuts down.
final class OwnedRedisServer {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    let directory: URL
    private let extraArguments: [String]
    private(set) var pid: pid_t?

    var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    init(extraArguments: [String] = []) throws {
        port = try LoopbackPort.unused()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("syncredis-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.extraArguments = extraArguments
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the server (again, on the same port) and waits, at most 10 s, until it accepts connections.
    func start() throws {
        precondition(pid == nil, "the server is already running")
        let executable = try Self.executable()
        let arguments = [executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--daemonize", "no", "--dir", directory.path,
                         "--logfile", directory.appendingPathComponent("redis.log").path] + extraArguments
        let pid = try Self.spawn(arguments)
        self.pid = pid
        let deadline = ContinuousClock.now + .seconds(10)
        while !LoopbackPort.isListening(port) {
            if Self.reap(pid) {
                self.pid = nil
                throw Failure(description: "redis-server exited at start; its log: \(log)")
            }
            guard ContinuousClock.now < deadline else {
                stop()
                throw Failure(description: "redis-server did not listen on \(port) within 10 s; its log: \(log)")
            }
            usleep(20_000)
        }
    }

    /// Terminates the server by its pid (SIGTERM, then SIGKILL after 5 s) and waits until it has exited.
    func stop() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGCONT) // a paused process would not act on SIGTERM
        kill(pid, SIGTERM)
        if !Self.waitForExit(pid, within: .seconds(5)) {
            kill(pid, SIGKILL)
            _ = Self.waitForExit(pid, within: .seconds(5))
        }
    }

    /// SIGSTOP: the kernel still accepts connections, but nothing answers (a stuck server).
    func pause() {
        if let pid { kill(pid, SIGSTOP) }
    }

    func resume() {
        if let pid { kill(pid, SIGCONT) }
    }

    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Starts `arguments[0]` with no signal blocked, every signal at its default, and /dev/null as stdio.
    private static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = argv.withUnsafeBufferPointer { argvBuffer in
            posix_spawn(&pid, arguments[0], &actions, &attributes, argvBuffer.baseAddress!, environ)
        }
        guard status == 0 else { throw Failure(description: "posix_spawn \(arguments[0]) failed: errno \(status)") }
        return pid
    }

    /// Whether the child has exited (and is now reaped).
    private static func reap(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result == -1 && errno == ECHILD)
    }

    private static func waitForExit(_ pid: pid_t, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while !reap(pid) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    private static func executable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        for directory in directories {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent("redis-server").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "redis-server is not installed (apt-get install redis-server, or run cluster/services start)")
    }
}
