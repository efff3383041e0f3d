import Crypto
import Foundation

/// One numbered SQL file of `Migrations/`, e.g. `0001_initial_schema.sql`.
public struct Migration: Sendable, Hashable {
    public var version: Int
    /// The file name, used in every message about it.
    public var fileName: String
    public var sql: String

    public init(version: Int, fileName: String, sql: String) {
        self.version = version
        self.fileName = fileName
        self.sql = sql
    }

    /// Hex SHA-256 of the file's bytes: an applied file whose checksum changed was edited after the fact.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Finds and orders the migration files of a directory.
public enum MigrationDirectory {
    /// The files named `<digits>_<name>.sql`, by version. Other files are ignored; a `.sql` file
    /// without a version prefix, or two files with one version, is an error naming them.
    public static func load(from directory: URL) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(code: .directoryUnreadable, file: directory.path, detail: "\(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            let digits = name.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let version = Int(digits), name.dropFirst(digits.count).first == "_" else {
                throw MigrationError(code: .badFileName, file: name, detail: "migration files are named NNNN_description.sql")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError(code: .duplicateVersion, file: name, detail: "version \(version) is also used by \(clash.fileName)")
            }
            let sql: String
            do {
                sql = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            } catch {
                throw MigrationError(code: .directoryUnreadable, file: name, detail: "\(error.localizedDescription)")
            }
            migrations.append(Migration(version: version, fileName: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Where the migrations are when none is named: `SYNC_MIGRATIONS_DIR`, then `Migrations/` next to
    /// the executable, in the package root above `.build/<config>/`, or in the working directory.
    public static func locate(explicit: String?, environment: [String: String], executablePath: String) -> URL? {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let fromEnvironment = environment["SYNC_MIGRATIONS_DIR"] { return URL(fileURLWithPath: fromEnvironment) }
        let executableDirectory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            executableDirectory.appendingPathComponent("Migrations"),
            executableDirectory.appendingPathComponent("../../../Migrations").standardized,
            executableDirectory.appendingPathComponent("../../Migrations").standardized,
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Migrations"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}

/// Why migrations could not be applied, naming the file involved.
public struct MigrationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case directoryUnreadable = "directory_unreadable"
        case badFileName = "bad_file_name"
        case duplicateVersion = "duplicate_version"
        case checksumMismatch = "checksum_mismatch"
        case appliedFileMissing = "applied_file_missing"
        case statementFailed = "statement_failed"
    }

    public var code: Code
    public var file: String
    public var detail: String

    public var description: String {
        switch code {
        case .checksumMismatch:
            return "migration \(file) was changed after it was applied (\(detail)); "
                + "restore the applied version and put the change in a new numbered file"
        case .appliedFileMissing:
            return "migration \(file) is recorded as applied but is not in the migrations directory (\(detail))"
        default:
            return "migration \(file): \(detail)"
        }
    }
}
