import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import PlanningCenter
import PostgresNIO
import ServiceLifecycle
import SyncNode
import SyncPostgres

/// `syncengine node`: run a node (sync workflows and the admin HTTP API) until SIGTERM or SIGINT,
/// which drain it: every workflow finishes its page in flight and the node releases its shards.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Run a sync node.")

    @OptionGroup var postgres: PostgresOptions

    @Option(help: "This node's id (default: $SYNC_NODE_ID or node-1).")
    var nodeID: String?

    @Option(help: "Admin HTTP address HOST:PORT; port 0 picks a free one (default: $SYNC_ADMIN_LISTEN or 127.0.0.1:8081).")
    var adminListen: String?

    @Option(help: "Virtual shards organizations hash onto; fixed per deployment (default: $SYNC_SHARDS or 64).")
    var shards: Int?

    @Option(help: "Delta overlap window in seconds (default 300).")
    var overlapSeconds: Int64 = 300

    @Option(help: "Seconds a graceful shutdown waits for pages in flight (default 15).")
    var drainTimeout: Int = 15

    @Flag(inversion: .prefixedNo, help: "Apply pending migrations at start.")
    var migrate = true

    @Option(help: "Directory of migrations (default: $SYNC_MIGRATIONS_DIR or the package's Migrations/).")
    var migrations: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = try postgres.url()
        let cipher = try tokenCipherFromEnvironment()
        let (host, port) = try parseListenAddress(adminListen ?? environment["SYNC_ADMIN_LISTEN"] ?? "127.0.0.1:8081", option: "--admin-listen")
        let baseConfiguration = NodeConfiguration(
            nodeID: nodeID ?? environment["SYNC_NODE_ID"] ?? "node-1", adminHost: host, adminPort: port,
            shardCount: shards ?? environment["SYNC_SHARDS"].flatMap(Int.init) ?? 64, overlapSeconds: overlapSeconds,
            drainTimeout: .seconds(drainTimeout)
        )
        var configurationWithHooks = baseConfiguration
        if let delay = environment["SYNC_TEST_COMMIT_DELAY_MS"].flatMap(Int.init) {
            configurationWithHooks.testCommitDelay = .milliseconds(delay)
        }
        let configuration = configurationWithHooks
        var logger = commandLogger("syncengine.node", defaultLevel: .info)
        logger[metadataKey: "sync.node"] = "\(configuration.nodeID)"

        if migrate {
            guard let directory = MigrationDirectory.locate(explicit: migrations, environment: environment,
                                                            executablePath: CommandLine.arguments[0]) else {
                throw CLIError("cannot find the Migrations directory: pass --migrations DIR or set SYNC_MIGRATIONS_DIR")
            }
            do {
                let outcome = try await MigrationRunner(migrations: try MigrationDirectory.load(from: directory), logger: logger).run(url: url)
                if !outcome.applied.isEmpty { logger.info("applied migrations", metadata: ["sync.migrations": "\(outcome.applied)"]) }
            } catch let error as MigrationError {
                throw CLIError(error.description)
            } catch let error as PostgresUnavailableError {
                throw CLIError(error.description)
            }
        }

        let postgresClient = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(10))))
        let engine = try SyncEngine(configuration: configuration, manifest: PCOManifest.manifest, postgres: postgresClient,
                                    httpClient: httpClient, cipher: cipher, logger: logger)
        let nodeID = configuration.nodeID
        let admin = Application(
            router: AdminServer.router(engine: engine),
            configuration: .init(address: .hostname(host, port: port), serverName: "syncengine"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                // One write, so a script waiting for this line never reads half of it.
                FileHandle.standardOutput.write(Data("node \(nodeID) admin http://\(host):\(bound)\n".utf8))
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: postgresClient), .init(service: SyncNodeService(engine: engine, logger: logger)), .init(service: admin)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}
