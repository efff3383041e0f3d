import Foundation
import Logging
import PostgresNIO
import SyncPostgres

/// The machine and database a benchmark ran on, printed above every table: figures from a 2-core
/// container and a workstation are not comparable, and neither are figures with fsync on and off.
public struct MachineDescription: Sendable, Hashable {
    public var processors: Int
    public var cpuModel: String
    public var memoryGiB: Double
    public var postgresVersion: String
    /// `SHOW fsync` and `SHOW synchronous_commit` as the server reports them.
    public var fsync: String
    public var synchronousCommit: String
    public var buildConfiguration: String

    /// Reads /proc and asks the server at `url`.
    public static func probe(postgres url: PostgresURL, logger: Logger) async throws -> MachineDescription {
        let (version, fsync, synchronousCommit) = try await BenchmarkDatabase.withConnection(to: url, logger: logger) { connection in
            func show(_ sql: String) async throws -> String {
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    .decode(String.self).first { _ in true } ?? "unknown"
            }
            return (try await show("SHOW server_version"), try await show("SHOW fsync"), try await show("SHOW synchronous_commit"))
        }
        return MachineDescription(
            processors: ProcessInfo.processInfo.activeProcessorCount,
            cpuModel: cpuModel() ?? "unknown CPU",
            memoryGiB: Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30),
            postgresVersion: version, fsync: fsync, synchronousCommit: synchronousCommit,
            buildConfiguration: buildConfiguration
        )
    }

    public var summary: String {
        "machine: \(processors) cores (nproc), \(cpuModel), \(Figure.format(memoryGiB, decimals: 1)) GiB; "
            + "Postgres \(postgresVersion), fsync=\(fsync), synchronous_commit=\(synchronousCommit); "
            + "syncengine \(buildConfiguration) build"
    }

    /// The first `model name` of /proc/cpuinfo (Linux); nil elsewhere.
    static func cpuModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static var buildConfiguration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }
}
