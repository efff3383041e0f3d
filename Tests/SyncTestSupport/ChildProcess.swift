import Foundation

/// A child process whose stdout and stderr go to log files (never a pipe that could fill up and
/// block it), started and stopped by pid.
public final class ChildProcess: @unchecked Sendable {
    public let process: Process
    public let name: String
    public let stdoutURL: URL
    public let stderrURL: URL

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Starts `binary` and waits until its stdout has a line matching `readyPattern` (a regular
    /// expression); returns the process and the first match.
    public static func start(
        _ binary: URL, _ arguments: [String], environment: [String: String] = [:], name: String,
        readyPattern: String, timeout: Duration = .seconds(60)
    ) async throws -> (ChildProcess, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("syncengine-tests", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stem = "\(name)-\(UUID().uuidString.prefix(8))"
        let stdoutURL = directory.appendingPathComponent("\(stem).out")
        let stderrURL = directory.appendingPathComponent("\(stem).log")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let child = ChildProcess(process: process, name: name, stdoutURL: stdoutURL, stderrURL: stderrURL)
        let regex = try NSRegularExpression(pattern: readyPattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
               let range = Range(match.range, in: text) {
                return (child, String(text[range]))
            }
            guard process.isRunning else {
                throw ChildProcessError(name: name, detail: "exited with \(process.terminationStatus) before it was ready: \(child.logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.kill()
        throw ChildProcessError(name: name, detail: "not ready after \(timeout): \(child.logTail())")
    }

    init(process: Process, name: String, stdoutURL: URL, stderrURL: URL) {
        self.process = process
        self.name = name
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
    }

    deinit { if process.isRunning { kill() } }

    /// SIGKILL, then wait for the process to be gone.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait up to `timeout` for a clean exit; returns whether it exited in time.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30)) async -> Bool {
        guard process.isRunning else { return true }
        Foundation.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }

    /// Sends a signal (SIGSTOP and SIGCONT freeze and resume it).
    public func signal(_ signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(pid, signal)
    }

    public func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    public func log() -> String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var name: String
    public var detail: String
    public init(name: String, detail: String) {
        self.name = name
        self.detail = detail
    }
    public var description: String { "\(name): \(detail)" }
}
