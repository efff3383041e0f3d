import ArgumentParser
import AsyncHTTPClient
import Foundation
import PlanningCenter
import PostgresNIO
import SyncNode
import SyncPostgres

/// `syncengine check`: every invariant of DESIGN §5 that can be read after the fact — no stale
/// commits (fence order), no lost runs, nothing written twice, and each org equal to the source.
/// Exits 1 on any violation; the chaos runs end with it.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the journal and canonical data against the engine's invariants and the source."
    )

    @OptionGroup var postgres: PostgresOptions
    @Option(help: "Organization ids to compare with the source (default: every organization of the simulator).") var org: [String] = []
    @Option(help: "The simulator's base URL (default: $SYNC_PCO_SIM_URL).") var simURL: String?
    @Flag(help: "Skip the comparison with the source (only the journal and canonical invariants).") var noConvergence = false
    @Flag(help: "Do not require every run to be terminal.") var allowOpenRuns = false
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        let url = try postgres.url()
        let logger = commandLogger("syncengine.check")
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        var violations: [String] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            for violation in try await InvariantCheck(logger: logger).check(postgres: client, requireTerminalRuns: !allowOpenRuns) {
                violations.append(violation.description)
            }
            if !noConvergence {
                guard let base = simURL ?? ProcessInfo.processInfo.environment["SYNC_PCO_SIM_URL"] else {
                    throw ValidationError("pass --sim-url or set SYNC_PCO_SIM_URL (or --no-convergence)")
                }
                var orgs = org
                if orgs.isEmpty {
                    struct Listed: Decodable { var id: String }
                    orgs = try JSONDecoder().decode([Listed].self, from: try await VerifyCommand.get("\(base)/__sim/orgs")).map(\.id)
                }
                let check = ConvergenceCheck(manifest: PCOManifest.manifest, logger: logger)
                for orgID in orgs {
                    let report = try await check.check(orgID: orgID, dataset: try await VerifyCommand.get("\(base)/__sim/dataset/\(orgID)"), postgres: client)
                    for difference in report.differences { violations.append("convergence: org \(orgID): \(difference)") }
                }
            }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["violations": violations, "ok": violations.isEmpty], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else if violations.isEmpty {
            print("invariants hold: no stale commits, no lost runs, nothing written twice\(noConvergence ? "" : ", every org equal to the source")")
        } else {
            print("\(violations.count) violation(s):")
            for violation in violations { print("  \(violation)") }
        }
        if !violations.isEmpty { throw ExitCode(1) }
    }
}
