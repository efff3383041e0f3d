import ArgumentParser

/// `syncengine pco-sim`: the local Planning Center API simulator.
struct PCOSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pco-sim",
        abstract: "Run the local Planning Center API simulator."
    )

    func run() async throws {
        throw ValidationError("pco-sim is not built yet")
    }
}
