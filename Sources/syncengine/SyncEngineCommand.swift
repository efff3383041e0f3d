import ArgumentParser

@main
struct SyncEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syncengine",
        abstract: "Keeps a canonical Postgres copy of church-management data in sync with its source.",
        subcommands: [NodeCommand.self, SyncCommand.self, OrgCommand.self, VerifyCommand.self, GraphCommand.self, MigrateCommand.self, PCOSimCommand.self]
    )
}
