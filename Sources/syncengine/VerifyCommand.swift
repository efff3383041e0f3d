import ArgumentParser
import AsyncHTTPClient
import Foundation
import PlanningCenter
import PostgresNIO
import SyncNode
import SyncPostgres

/// `syncengine verify`: compare organizations' canonical rows with the simulator's data set.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check that organizations' canonical data equals the source's (simulator) data set."
    )

    @OptionGroup var postgres: PostgresOptions
    @Option(help: "Organization ids (default: every organization of the simulator).") var org: [String] = []
    @Option(help: "The simulator's base URL (default: $SYNC_PCO_SIM_URL).") var simURL: String?
    @Flag(help: "Print the reports as JSON.") var json = false

    func run() async throws {
        guard let base = simURL ?? ProcessInfo.processInfo.environment["SYNC_PCO_SIM_URL"] else {
            throw ValidationError("pass --sim-url or set SYNC_PCO_SIM_URL")
        }
        var orgs = org
        if orgs.isEmpty {
            struct Listed: Decodable { var id: String }
            orgs = try JSONDecoder().decode([Listed].self, from: try await Self.get("\(base)/__sim/orgs")).map(\.id)
        }
        let url = try postgres.url()
        let logger = commandLogger("syncengine.verify")
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        let check = ConvergenceCheck(manifest: PCOManifest.manifest, logger: logger)
        var diverged = false
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            var reports: [ConvergenceCheck.Report] = []
            for orgID in orgs {
                let report = try await check.check(orgID: orgID, dataset: try await Self.get("\(base)/__sim/dataset/\(orgID)"), postgres: client)
                reports.append(report)
                diverged = diverged || !report.converged
                if !json {
                    let total = report.records.values.reduce(0, +)
                    print("org \(orgID): \(report.converged ? "equal to the source" : "DIFFERS from the source") (\(total) records)")
                    for difference in report.differences { print("  \(difference)") }
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(reports), as: UTF8.self))
            }
        }
        if diverged { throw ExitCode(1) }
    }

    static func get(_ url: String) async throws -> Data {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 30)
        guard response.status == .ok else { throw CLIError("\(url) answered \(response.status.code)") }
        return Data(buffer: body)
    }
}
