import ArgumentParser
import Logging

@main
struct SyncEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syncengine",
        abstract: "Keeps a canonical Postgres copy of church-management data in sync with its source.",
        subcommands: [NodeCommand.self, SyncCommand.self, OrgCommand.self, VerifyCommand.self, GraphCommand.self, MigrateCommand.self,
                      PCOSimCommand.self, BenchCommand.self, StatusCommand.self, CheckCommand.self]
    )

    /// Logs go to stderr, so stdout carries only what scripts read (ready lines, JSON, reports).
    static func main() async {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        await main(nil)
    }
}
