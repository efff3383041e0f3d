import Foundation

/// A peer program run to completion (pgbench, the DBOS script), its output captured in files rather
/// than pipes, so a chatty program can never fill a pipe and stall.
struct ExternalCommand: Sendable {
    struct Output: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    var executable: String
    var arguments: [String]
    var environment: [String: String] = [:]
    var workingDirectory: String?

    /// Runs the program and waits for it without blocking a thread of the cooperative pool.
    func run() async throws -> Output {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("syncengine-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdoutURL = scratch.appendingPathComponent("stdout"), stderrURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL), stderr = try FileHandle(forWritingTo: stderrURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardOutput = stdout
        process.standardError = stderr
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try? stdout.close()
        try? stderr.close()
        return Output(
            status: status,
            standardOutput: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        )
    }

    /// The path of an executable file named `name` on `PATH`, or `name` itself when it is a path.
    static func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A peer that could not be run, with why: printed in the table instead of a figure.
struct PeerUnavailable: Error, Sendable, CustomStringConvertible {
    var peer: String
    var reason: String
    var description: String { "\(peer) unavailable: \(reason)" }
}
