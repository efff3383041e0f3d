import ArgumentParser
import Foundation
import Logging
import SyncPostgres

/// Options shared by the commands that talk to Postgres, with their environment fallbacks.
struct PostgresOptions: ParsableArguments {
    @Option(help: "Postgres URL (default: $SYNC_POSTGRES_URL).")
    var postgres: String?

    func url() throws -> PostgresURL {
        guard let text = postgres ?? ProcessInfo.processInfo.environment["SYNC_POSTGRES_URL"] else {
            throw ValidationError("no Postgres URL: pass --postgres or set SYNC_POSTGRES_URL")
        }
        do { return try PostgresURL(parsing: text) } catch { throw CLIError(error.description) }
    }
}

/// The token encryption key from `SYNC_TOKEN_KEY`: a clear start-up error when missing or malformed.
func tokenCipherFromEnvironment() throws -> TokenCipher {
    do {
        return try TokenCipher(base64Key: ProcessInfo.processInfo.environment[TokenCipher.environmentVariable])
    } catch {
        throw CLIError("\(error)")
    }
}

/// A logger for commands: level from `SYNC_LOG_LEVEL` (default info for the node, warning otherwise).
func commandLogger(_ label: String, defaultLevel: Logger.Level = .warning) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["SYNC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
    return logger
}

/// An integer setting: the option when given, else its environment variable. A variable that is
/// set but not an integer is an error naming it, not silently the default.
func integerSetting<Value: FixedWidthInteger>(_ option: Value?, environment name: String, in environment: [String: String]) throws -> Value? {
    if let option { return option }
    guard let text = environment[name] else { return nil }
    guard let value = Value(text.trimmingCharacters(in: .whitespaces)) else {
        throw ValidationError("\(name) must be an integer, got '\(text)'")
    }
    return value
}

/// Splits `host:port`.
func parseListenAddress(_ text: String, option: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("\(option) must be HOST:PORT, got '\(text)'")
    }
    return (String(text[..<colon]), port)
}
