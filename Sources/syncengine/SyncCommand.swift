import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SyncCore
import SyncNode

/// `syncengine sync`: start a run through a node's admin API and optionally follow it.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Start a sync run of an organization.")

    @Option(help: "The organization id.") var org: String?
    @Option(help: "Follow this existing run instead of starting one (implies --wait).") var follow: UUID?
    @Option(help: "full, delta or reconcile.") var strategy: SyncStrategy = .full
    @Option(help: "A node's admin URL (default: the first that answers of $SYNC_ADMIN_URL or $SYNC_ADMIN_URLS, else http://127.0.0.1:8081).") var node: String?
    @Flag(help: "Wait for the run to end; on a terminal, show a progress bar per entity.") var wait = false
    @Flag(help: "Print the run's status as JSON.") var json = false
    @Option(help: "With --wait: give up after this many seconds (default 3600).") var timeout: Int = 3600

    func run() async throws {
        let base = await AdminEndpoints.firstReachable(explicit: node)
        if let follow {
            try await followRun(follow, base: base)
            return
        }
        guard let org else { throw ValidationError("give --org ORG (or --follow RUN_ID)") }
        var request = HTTPClientRequest(url: "\(base)/v1/orgs/\(org)/syncs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"strategy":"\#(strategy.rawValue)"}"#))
        let (status, body) = try await send(request, to: base)
        guard status == 200 || status == 201 else { throw CLIError("the node refused the sync (\(status)): \(body)") }
        struct Accepted: Decodable { var run_id: UUID; var created: Bool }
        let accepted = try JSONDecoder().decode(Accepted.self, from: Data(body.utf8))
        if !json {
            print(accepted.created ? "started run \(accepted.run_id)" : "org \(org) already has run \(accepted.run_id) in progress")
        }
        guard wait else {
            if json { print(#"{"run_id":"\#(accepted.run_id)","created":\#(accepted.created)}"#) }
            return
        }
        try await followRun(accepted.run_id, base: base)
    }

    private func followRun(_ runID: UUID, base: String) async throws {
        let interactive = isatty(STDOUT_FILENO) == 1 && !json
        let deadline = ContinuousClock.now + .seconds(timeout)
        var drawnLines = 0
        while true {
            let (code, text) = try await send(HTTPClientRequest(url: "\(base)/v1/runs/\(runID)"), to: base)
            guard code == 200 else { throw CLIError("run status answered \(code): \(text)") }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let run = try decoder.decode(RunStatus.self, from: Data(text.utf8))
            if interactive {
                drawnLines = ProgressBars.redraw(run, previousLines: drawnLines)
            }
            if run.state.isTerminal {
                if json {
                    print(text)
                } else if !interactive {
                    for entity in run.entities { print(ProgressBars.line(entity, width: 0)) }
                }
                if !json { print("run \(run.id): \(run.state.rawValue)\(run.failureReason.map { " (\($0))" } ?? "")") }
                if run.state == .failed { throw ExitCode(1) }
                return
            }
            guard ContinuousClock.now < deadline else { throw CLIError("run \(run.id) still \(run.state.rawValue) after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    private func send(_ request: HTTPClientRequest, to base: String) async throws -> (Int, String) {
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            throw CLIError("cannot reach the node at \(base): \(error)")
        }
    }
}

extension SyncStrategy: ExpressibleByArgument {}

/// Per-entity progress bars drawn in place with ANSI escapes.
enum ProgressBars {
    static func line(_ entity: EntityProgress, width: Int) -> String {
        let name = entity.entity.padding(toLength: 20, withPad: " ", startingAt: 0)
        let state = entity.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
        let counts = "\(entity.pages) pages, \(entity.rows) rows, \(entity.rateLimited) 429s, \(entity.retries) retries"
        guard width > 0 else { return "\(name) \(state) \(counts)" }
        let filled = switch entity.state {
        case .completed: width
        case .waiting, .skipped: 0
        case .running, .failed:
            entity.expected.map { $0 > 0 ? min(width - 1, entity.fetched * width / $0) : 0 } ?? min(width - 1, entity.pages % width)
        }
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "\(name) [\(bar)] \(state) \(counts)"
    }

    /// Redraws the block and returns how many lines it occupies.
    static func redraw(_ run: RunStatus, previousLines: Int) -> Int {
        var output = previousLines > 0 ? "\u{1B}[\(previousLines)A" : ""
        let header = "run \(run.id) \(run.strategy.rawValue) org \(run.org): \(run.state.rawValue)"
        output += "\u{1B}[2K" + header + "\n"
        for entity in run.entities { output += "\u{1B}[2K" + line(entity, width: 24) + "\n" }
        FileHandle.standardOutput.write(Data(output.utf8))
        return run.entities.count + 1
    }
}

extension UUID: @retroactive ExpressibleByArgument {
    public init?(argument: String) { self.init(uuidString: argument) }
}
