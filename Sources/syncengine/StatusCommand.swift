import ArgumentParser
import AsyncHTTPClient
import Foundation
import SyncNode

/// `syncengine status`: the cluster as one node sees it: members, shard owners and epochs, active runs.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the cluster: members, shards, active runs.")

    @Option(help: "A node's admin URL (default: the first that answers of $SYNC_ADMIN_URL or $SYNC_ADMIN_URLS).") var node: String?
    @Flag(help: "Print the status as JSON.") var json = false

    func run() async throws {
        let base = await AdminEndpoints.firstReachable(explicit: node)
        let text: String
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/v1/cluster"), timeout: .seconds(10))
            text = String(buffer: try await response.body.collect(upTo: 16 << 20))
            guard response.status == .ok else { throw CLIError("\(base)/v1/cluster answered \(response.status.code): \(text)") }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot reach the node at \(base): \(error)")
        }
        if json {
            print(text)
            return
        }
        let status = try JSONDecoder().decode(ClusterStatus.self, from: Data(text.utf8))
        print(Self.render(status))
    }

    static func render(_ status: ClusterStatus) -> String {
        var lines: [String] = []
        if status.clustered {
            lines.append("leader: \(status.leader ?? "none") (term \(status.leaderTerm.map(String.init) ?? "-")), answered by \(status.node)")
            lines.append("members (\(status.members.count)):")
            for member in status.members {
                lines.append("  \(member.id.padding(toLength: 12, withPad: " ", startingAt: 0)) \(member.address.padding(toLength: 22, withPad: " ", startingAt: 0)) incarnation \(member.incarnation)\(member.leader ? "  leader" : "")  \(member.adminURL)")
            }
        } else {
            lines.append("node \(status.node) runs alone (no cluster), term \(status.leaderTerm.map(String.init) ?? "-")")
        }
        let owned = status.shards.filter { $0.owner != nil }
        var byOwner: [String: [ClusterStatus.Shard]] = [:]
        for shard in owned { byOwner[shard.owner!, default: []].append(shard) }
        lines.append("shards: \(owned.count) owned of \(status.shards.count) ever taken")
        for (owner, shards) in byOwner.sorted(by: { $0.key < $1.key }) {
            let list = shards.map { "\($0.shard)@\($0.epoch)" }.joined(separator: " ")
            lines.append("  \(owner) (\(shards.count)): \(list)")
        }
        lines.append("active runs (\(status.runs.count)):")
        for run in status.runs {
            lines.append("  \(run.id.uuidString.lowercased()) org \(run.org) \(run.strategy.rawValue) \(run.state.rawValue): \(run.entitiesCompleted)/\(run.entities) entities, \(run.pages) pages, \(run.rows) rows")
        }
        return lines.joined(separator: "\n")
    }
}
