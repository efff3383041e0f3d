import ClusterProtocol
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import SyncCore
import SyncPostgres
import SyncRedis
import SyncTransport

/// A node's membership of the cluster as a service: connects to Redis, listens for peers, and runs
/// the ``ClusterAgent`` (membership, leases, leadership) until a graceful shutdown, which hands every
/// shard off after its page in flight and releases leadership before the node exits.
public struct ClusterNodeService: Service {
    let engine: SyncEngine
    let configuration: ClusterConfiguration
    let adminAddress: AdminAddress
    let logger: Logger

    public init(engine: SyncEngine, configuration: ClusterConfiguration, adminAddress: AdminAddress, logger: Logger) {
        self.engine = engine
        self.configuration = configuration
        self.adminAddress = adminAddress
        self.logger = logger
    }

    public func run() async throws {
        let nodeConfiguration = engine.configuration
        let endpoint = try RedisEndpoint(parsing: configuration.redisURL)
        let keys = ClusterKeys(clusterID: configuration.clusterID)
        // hiredis blocks: its calls run on these threads, never on the cooperative pool.
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let redis = RedisClient(endpoint: endpoint, threadPool: threadPool, logger: logger)
        let subscriber = RedisSubscriber(endpoint: endpoint, channels: [keys.membershipChannel], logger: logger)
        let shardMap = ShardMap(shardCount: nodeConfiguration.shardCount)

        let handler = EntitySyncService(engine: engine, journal: engine.journal, shardMap: shardMap, logger: logger)
        var transportConfiguration = ClusterTransportConfiguration(
            clusterID: configuration.clusterID, nodeID: nodeConfiguration.nodeID, secret: configuration.secret)
        transportConfiguration.host = configuration.listenHost
        transportConfiguration.port = configuration.listenPort
        transportConfiguration.maximumFrameSize = configuration.maximumFrameSize
        let transport = ClusterTransport(configuration: transportConfiguration, group: MultiThreadedEventLoopGroup.singleton,
                                         handler: handler, logger: logger)
        let port = try await transport.start()

        var adminURL = adminAddress.url
        for _ in 0..<100 where adminURL == nil {
            try await Task.sleep(for: .milliseconds(50))
            adminURL = adminAddress.url
        }
        // Milliseconds of wall-clock time: a node restarted under the same id gets a higher incarnation.
        let incarnation = Int64(Date().timeIntervalSince1970 * 1000)
        let selfInfo = MemberInfo(nodeID: nodeConfiguration.nodeID, incarnation: incarnation,
                                  clusterHost: configuration.advertisedHost ?? configuration.listenHost, clusterPort: port,
                                  adminURL: adminURL ?? "")
        let agent = ClusterAgent(configuration: configuration, selfInfo: selfInfo, shardCount: nodeConfiguration.shardCount,
                                 redis: redis, fences: engine.fences, work: engine.work, activity: engine.activity, leadership: engine.leadership,
                                 metrics: ClusterMetrics(), logger: logger)
        await engine.joinCluster(agent: agent, dispatcher: EntityDispatcher(
            nodeID: nodeConfiguration.nodeID, engine: engine, agent: agent, transport: transport, shardMap: shardMap, logger: logger))
        logger.info("joined the cluster", metadata: [
            "sync.cluster": "\(configuration.clusterID)", "sync.listen": "\(selfInfo.clusterHost):\(port)",
            "sync.incarnation": "\(incarnation)", "sync.redis": "\(endpoint)",
        ])

        let metrics = ClusterMetrics()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The transport counts in its own structure; carry the increments to the metrics.
                    var before = TransportCounters()
                    while !Task.isCancelled {
                        let now = transport.counters
                        metrics.transportCounted(now, since: before)
                        before = now
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                await agent.run(subscriber: subscriber, shutdownDeadline: nodeConfiguration.drainTimeout)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            agent.requestShutdown()
        }
        await transport.shutdown()
        redis.close()
        try? await threadPool.shutdownGracefully()
        logger.info("left the cluster")
    }
}
