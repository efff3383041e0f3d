import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Metrics
import PlanningCenter
import Prometheus
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

    @Option(help: "Runs the leader coordinates at once (default: $SYNC_MAX_CONCURRENT_RUNS or 64).")
    var maxConcurrentRuns: Int?

    @Option(help: "Concurrent partition workflows of a nested listing, one request per household or group (default: $SYNC_NESTED_PARTITIONS or 32).")
    var nestedPartitions: Int?

    @Option(help: "Most partition workflows a top-level listing's pass is split into by created_at, 1 = none (default: $SYNC_LISTING_PARTITIONS or 4).")
    var listingPartitions: Int?

    @Option(help: "Seconds a graceful shutdown waits for pages in flight (default 15).")
    var drainTimeout: Int = 15

    @Option(help: "Redis URL for cluster membership and leases; without it the node runs alone (default: $SYNC_REDIS_URL).")
    var redisURL: String?

    @Option(help: "Address HOST:PORT other nodes connect to; port 0 picks a free one (default: $SYNC_CLUSTER_LISTEN or 127.0.0.1:0).")
    var clusterListen: String?

    @Option(help: "Host other nodes use to reach this one, when it differs from the listen host (default: $SYNC_CLUSTER_ADVERTISE).")
    var clusterAdvertise: String?

    @Option(help: "Cluster id; namespaces the Redis keys and is checked in the handshake (default: $SYNC_CLUSTER_ID or syncengine).")
    var clusterID: String?

    @Option(help: "Shard and leader lease TTL in milliseconds (default: $SYNC_LEASE_TTL_MS or 1200).")
    var leaseTTLMs: Int64?

    @Option(help: "Lease renewal and membership scan interval in milliseconds (default: $SYNC_RENEW_INTERVAL_MS or 150).")
    var renewIntervalMs: Int64?

    @Flag(inversion: .prefixedNo, help: "Apply pending migrations at start.")
    var migrate = true

    @Option(help: "Directory of migrations (default: $SYNC_MIGRATIONS_DIR or the package's Migrations/).")
    var migrations: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = try postgres.url()
        let cipher = try tokenCipherFromEnvironment()
        let (host, port) = try parseListenAddress(adminListen ?? environment["SYNC_ADMIN_LISTEN"] ?? "127.0.0.1:8081", option: "--admin-listen")
        let shardCount = try integerSetting(shards, environment: "SYNC_SHARDS", in: environment) ?? 64
        guard shardCount >= 1 else { throw ValidationError("--shards (SYNC_SHARDS) must be at least 1, got \(shardCount)") }
        var baseConfiguration = NodeConfiguration(
            nodeID: nodeID ?? environment["SYNC_NODE_ID"] ?? "node-1", adminHost: host, adminPort: port,
            shardCount: shardCount, overlapSeconds: overlapSeconds,
            drainTimeout: .seconds(drainTimeout)
        )
        if let runs = try integerSetting(maxConcurrentRuns, environment: "SYNC_MAX_CONCURRENT_RUNS", in: environment) {
            guard runs > 0 else { throw ValidationError("--max-concurrent-runs (SYNC_MAX_CONCURRENT_RUNS) must be positive, got \(runs)") }
            baseConfiguration.maximumConcurrentRuns = runs
        }
        if let partitions = try integerSetting(nestedPartitions, environment: "SYNC_NESTED_PARTITIONS", in: environment) {
            guard (1...64).contains(partitions) else { throw ValidationError("--nested-partitions (SYNC_NESTED_PARTITIONS) must be 1 to 64, got \(partitions)") }
            baseConfiguration.nestedPartitions = partitions
        }
        if let partitions = try integerSetting(listingPartitions, environment: "SYNC_LISTING_PARTITIONS", in: environment) {
            guard (1...16).contains(partitions) else { throw ValidationError("--listing-partitions (SYNC_LISTING_PARTITIONS) must be 1 to 16, got \(partitions)") }
            baseConfiguration.listingPartitions = partitions
        }
        var configurationWithHooks = baseConfiguration
        if let delay = try integerSetting(Int?.none, environment: "SYNC_TEST_COMMIT_DELAY_MS", in: environment) {
            configurationWithHooks.testCommitDelay = .milliseconds(delay)
        }
        configurationWithHooks.cluster = try clusterConfiguration(environment: environment)
        let configuration = configurationWithHooks
        let metricsRegistry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metricsRegistry))
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

        // The client's sessions end a transaction left idle for 3 s (see PostgresURL.sessionSettings).
        let postgresClient = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(10))))
        let engine = try SyncEngine(configuration: configuration, manifest: PCOManifest.manifest, postgres: postgresClient,
                                    httpClient: httpClient, cipher: cipher, logger: logger)
        let nodeID = configuration.nodeID
        let adminAddress = AdminAddress()
        let admin = Application(
            router: AdminServer.router(engine: engine, metrics: metricsRegistry),
            configuration: .init(address: .hostname(host, port: port), serverName: "syncengine"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                adminAddress.bound("http://\(host):\(bound)")
                // One write, so a script waiting for this line never reads half of it.
                FileHandle.standardOutput.write(Data("node \(nodeID) admin http://\(host):\(bound)\n".utf8))
            },
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: postgresClient), .init(service: SyncNodeService(engine: engine, logger: logger)),
        ]
        if let cluster = configuration.cluster {
            services.append(.init(service: ClusterNodeService(engine: engine, configuration: cluster, adminAddress: adminAddress, logger: logger)))
        }
        // Last, so it stops first on shutdown: no new requests while the node drains.
        services.append(.init(service: admin))
        let group = ServiceGroup(configuration: .init(
            services: services,
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

extension NodeCommand {
    /// Cluster mode when a Redis URL is given (flag or `SYNC_REDIS_URL`, non-empty); it then needs
    /// `SYNC_CLUSTER_SECRET`, which every node of the cluster shares.
    func clusterConfiguration(environment: [String: String]) throws -> ClusterConfiguration? {
        guard let redis = redisURL ?? environment["SYNC_REDIS_URL"], !redis.isEmpty else { return nil }
        guard let secret = environment["SYNC_CLUSTER_SECRET"], secret.utf8.count >= 16 else {
            throw CLIError("cluster mode (Redis \(redis)) needs SYNC_CLUSTER_SECRET, shared by every node, of at least 16 bytes")
        }
        let (host, port) = try parseListenAddress(clusterListen ?? environment["SYNC_CLUSTER_LISTEN"] ?? "127.0.0.1:0",
                                                  option: "--cluster-listen")
        var configuration = ClusterConfiguration(
            clusterID: clusterID ?? environment["SYNC_CLUSTER_ID"] ?? "syncengine", secret: Array(secret.utf8), redisURL: redis,
            listenHost: host, listenPort: port, advertisedHost: clusterAdvertise ?? environment["SYNC_CLUSTER_ADVERTISE"])
        if let ttl = try integerSetting(leaseTTLMs, environment: "SYNC_LEASE_TTL_MS", in: environment) {
            guard ttl >= 300 else { throw ValidationError("--lease-ttl-ms must be at least 300, got \(ttl)") }
            configuration.leaseTTLMilliseconds = ttl
            configuration.memberTTLMilliseconds = ttl
            configuration.leaseSafetyMarginMilliseconds = max(50, ttl / 6)
        }
        if let interval = try integerSetting(renewIntervalMs, environment: "SYNC_RENEW_INTERVAL_MS", in: environment) {
            configuration.renewIntervalMilliseconds = interval
        }
        guard configuration.renewIntervalMilliseconds * 3 <= configuration.leaseTTLMilliseconds else {
            throw ValidationError("the renew interval (\(configuration.renewIntervalMilliseconds) ms) must be at most a third of the lease TTL (\(configuration.leaseTTLMilliseconds) ms)")
        }
        guard !configuration.clusterID.contains(":"), !nodeIDContainsSeparator(environment: environment) else {
            throw ValidationError("cluster and node ids must not contain ':' or tabs")
        }
        return configuration
    }

    private func nodeIDContainsSeparator(environment: [String: String]) -> Bool {
        let id = nodeID ?? environment["SYNC_NODE_ID"] ?? "node-1"
        return id.contains("\t") || id.contains("/") || id.isEmpty
    }
}
