import Synchronization
import AsyncHTTPClient
import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// One node's sync machinery: it owns the fences it writes under, builds the per-org API clients,
/// and coordinates runs. The node service drives ``scheduleRuns(into:)``; the admin API calls
/// ``requestSync(orgID:strategy:requestKey:)`` and ``status(of:)``.
///
/// Until the cluster layer exists every node takes every shard and the leader term at start, which
/// is exactly right for one node and fences off a previous incarnation of it after a crash.
public actor SyncEngine {
    public let configuration: NodeConfiguration
    public let manifest: EntityManifest
    public let graph: DependencyGraph
    let postgres: PostgresClient
    let httpClient: HTTPClient
    let organizations: OrganizationStore
    let journal: JournalStore
    let fences: FenceStore
    let store: CanonicalStore
    let limiters: PCORateLimiterRegistry
    let shardMap: ShardMap
    let logger: Logger

    private var shardEpochs: [Int: Int64] = [:]
    private var leaderTerm: Int64?
    private var credentialProviders: [String: PCOCredentialProvider] = [:]
    private var activeRuns: Set<UUID> = []

    public init(configuration: NodeConfiguration, manifest: EntityManifest, postgres: PostgresClient, httpClient: HTTPClient,
                cipher: TokenCipher, logger: Logger) throws {
        self.configuration = configuration
        self.manifest = manifest
        self.graph = try DependencyGraph.build(from: manifest)
        self.postgres = postgres
        self.httpClient = httpClient
        self.organizations = OrganizationStore(client: postgres, cipher: cipher, logger: logger)
        self.journal = JournalStore(client: postgres, logger: logger)
        self.fences = FenceStore(client: postgres, logger: logger)
        self.store = CanonicalStore(logger: logger)
        self.limiters = PCORateLimiterRegistry(configuration: .init(assumedLimit: configuration.assumedRateLimit))
        self.shardMap = ShardMap(shardCount: configuration.shardCount)
        self.logger = logger
    }

    /// Takes the leader term and every shard (one-node mode): bumping each epoch fences off anything a
    /// previous incarnation of this node might still try to commit.
    public func takeOwnership() async throws {
        leaderTerm = try await fences.beginLeaderTerm(leader: configuration.nodeID)
        for shard in 0..<configuration.shardCount {
            shardEpochs[shard] = try await fences.acquireShard(shard, owner: configuration.nodeID)
        }
        logger.info("took ownership", metadata: ["sync.term": "\(leaderTerm!)", "sync.shards": "\(configuration.shardCount)"])
    }

    /// Releases the shards on a clean shutdown, so the next owner knows nobody holds them.
    public func releaseOwnership() async {
        for (shard, epoch) in shardEpochs {
            try? await fences.releaseShard(shard, owner: configuration.nodeID, epoch: epoch)
        }
        shardEpochs = [:]
    }

    public func requestSync(orgID: String, strategy: SyncStrategy, requestKey: String?) async throws -> JournalStore.RunCreation {
        try await journal.createRun(orgID: orgID, strategy: strategy, requestKey: requestKey)
    }

    public func status(of runID: UUID) async throws -> RunStatus? {
        guard let run = try await journal.run(id: runID) else { return nil }
        return try await RunStatus.load(run: run, graph: graph, journal: journal)
    }

    public func recentRuns() async throws -> [RunRecord] { try await journal.recentRuns() }

    /// Set when the node drains: workflows finish the page in flight and return `Interrupted`.
    public nonisolated let drainFlag = DrainFlag()

    /// Coordinators for the runs that should be coordinated here and are not yet; each is marked
    /// active until ``coordinate(_:)`` returns.
    public func runsToStart() async -> [RunCoordinator] {
        guard !drainFlag.isSet, let leaderTerm else { return [] }
        let runs: [RunRecord]
        do { runs = try await journal.activeRuns() } catch {
            logger.warning("cannot list active runs", metadata: ["sync.error": "\(describePostgresError(error))"])
            return []
        }
        var coordinators: [RunCoordinator] = []
        for run in runs where !activeRuns.contains(run.id) && activeRuns.count < configuration.maximumConcurrentRuns {
            activeRuns.insert(run.id)
            coordinators.append(RunCoordinator(context: .init(
                run: run, graph: graph, journal: journal, fence: .leader(term: leaderTerm),
                maximumConcurrentEntities: configuration.maximumConcurrentEntities,
                runEntity: { [self] run, entity in try await self.runEntity(run, entity) }, logger: logger
            )))
        }
        return coordinators
    }

    /// Runs one coordinator to its end (or interruption) and frees its slot.
    public nonisolated func coordinate(_ coordinator: RunCoordinator) async {
        let run = coordinator.context.run
        do {
            _ = try await coordinator.run()
        } catch is EntitySyncRunner.Interrupted {
            logger.info("run interrupted by drain; it resumes from the journal", metadata: ["sync.run": "\(run.id)"])
        } catch {
            logger.error("run stopped", metadata: ["sync.run": "\(run.id)", "sync.error": "\(error)"])
            // A later scheduling pass retries it (e.g. once Postgres is back).
            try? await Task.sleep(for: .seconds(1))
        }
        await finished(run.id)
    }

    private func finished(_ runID: UUID) { activeRuns.remove(runID) }

    public var hasActiveRuns: Bool { !activeRuns.isEmpty }

    /// One entity workflow of a run, on this node.
    nonisolated func runEntity(_ run: RunRecord, _ entityName: String) async throws -> EntityWorkflow {
        guard let entity = manifest.entity(named: entityName) else {
            preconditionFailure("orchestrator dispatched \(entityName), which the manifest lacks")
        }
        let shard = shardMap.shard(ofOrg: run.orgID)
        guard let epoch = await shardEpochs[shard] else {
            throw JournalError(code: .ownershipLost, workflowID: EntitySyncRunner.workflowID(run: run.id, entity: entityName),
                               detail: "this node does not own shard \(shard)")
        }
        let client = try await apiClient(orgID: run.orgID)
        let drainFlag = self.drainFlag
        var context = EntitySyncRunner.Context(
            run: run, entity: entity, fence: .shard(shard, epoch: epoch), client: client, journal: journal, store: store,
            transformer: PCOTransformer(manifest: manifest), overlapSeconds: configuration.overlapSeconds,
            shouldStop: { drainFlag.isSet }, progress: { _ in }, logger: logger
        )
        context.testCommitDelay = configuration.testCommitDelay
        context.nestedPartitions = configuration.nestedPartitions
        let runner = EntitySyncRunner(context: context)
        return try await runner.run()
    }

    /// A client for one org: its own counters, the credential's shared limiter and token provider.
    func apiClient(orgID: String) async throws -> PCOClient {
        guard let organization = try await organizations.organization(id: orgID) else {
            throw JournalError(code: .invalidState, workflowID: "org/\(orgID)", detail: "organization \(orgID) is not registered")
        }
        let provider: PCOCredentialProvider
        if let existing = credentialProviders[orgID] {
            provider = existing
        } else {
            let application = try await organizations.oauthApplication(orgID: orgID)
            provider = PCOCredentialProvider(
                configuration: .init(baseURL: organization.apiBaseURL, orgID: orgID,
                                     oauthClient: application.map { OAuthClientCredentials(clientID: $0.clientID, clientSecret: $0.clientSecret) }),
                store: organizations.credentials, httpClient: httpClient, logger: logger
            )
            credentialProviders[orgID] = provider
        }
        return PCOClient(
            configuration: PCOClientConfiguration(baseURL: organization.apiBaseURL, orgID: orgID),
            httpClient: httpClient, credentials: provider, limiter: limiters.limiter(for: orgID), logger: logger
        )
    }
}

/// Set once when the node starts draining; read from any thread.
public final class DrainFlag: Sendable {
    private let state = Mutex(false)
    public init() {}
    public func set() { state.withLock { $0 = true } }
    public var isSet: Bool { state.withLock { $0 } }
}
