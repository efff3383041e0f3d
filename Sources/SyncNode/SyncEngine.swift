import Synchronization
import AsyncHTTPClient
import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// One node's sync machinery: it runs entity workflows under the fences of the shards it owns,
/// builds the per-org API clients, and, while it leads, coordinates runs. The node service drives
/// ``runsToStart()``; the admin API calls ``requestSync(orgID:strategy:requestKey:)`` and ``status(of:)``.
///
/// Alone, the node takes every shard and the leader term at start (``takeOwnership()``), which also
/// fences off a previous incarnation of it after a crash. In a cluster the ``ClusterAgent`` grants
/// and revokes shards and leadership, and an ``EntityDispatcher`` sends workflows to shard owners.
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

    private var credentialProviders: [String: PCOCredentialProvider] = [:]
    private var activeRuns: Set<UUID> = []
    /// Entity workflows running on this node, by idempotency key (run + entity): a dispatch that
    /// arrives again (a new leader, a retry after a lost connection) joins the one already running.
    private var localWorkflows: [String: (epoch: Int64?, token: UUID, task: Task<EntityWorkflow, any Error>)] = [:]
    private var dispatcher: EntityDispatcher?

    /// What this node may write on each shard; maintained by the cluster agent (or, alone, by
    /// ``takeOwnership()``) and read by every workflow between pages.
    public nonisolated let work = ShardWorkTable()
    /// The leader term this node holds, if it leads.
    public nonisolated let leadership = Leadership()
    /// What each entity workflow running here is doing (admin API, watchdog, stuck-shard logs).
    public nonisolated let activity = WorkflowActivity()
    /// Entity workflows folded from their journals for status requests (see ``WorkflowFolds``).
    nonisolated let folds = WorkflowFolds()

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

    /// Alone (no cluster): takes the leader term and every shard. Bumping each epoch fences off
    /// anything a previous incarnation of this node might still try to commit.
    public func takeOwnership() async throws {
        let term = try await fences.beginLeaderTerm(leader: configuration.nodeID)
        for shard in 0..<configuration.shardCount {
            work.grant(.writable(epoch: try await fences.acquireShard(shard, owner: configuration.nodeID)), shard: shard)
        }
        leadership.begin(term: term)
        logger.info("took ownership", metadata: ["sync.term": "\(term)", "sync.shards": "\(configuration.shardCount)"])
    }

    /// Alone: releases the shards on a clean shutdown, so the next owner knows nobody holds them.
    public func releaseOwnership() async {
        leadership.end()
        for (shard, permission) in work.ownedShards {
            work.revoke(shard: shard)
            if case .writable(let epoch) = permission {
                try? await fences.releaseShard(shard, owner: configuration.nodeID, epoch: epoch)
            }
        }
    }

    /// The cluster this node belongs to, if any (for status).
    public private(set) var clusterAgent: ClusterAgent?

    /// In a cluster, entity workflows go to the owner of the org's shard through the dispatcher.
    func joinCluster(agent: ClusterAgent, dispatcher: EntityDispatcher) {
        self.clusterAgent = agent
        self.dispatcher = dispatcher
    }

    public func requestSync(orgID: String, strategy: SyncStrategy, requestKey: String?) async throws -> JournalStore.RunCreation {
        try await journal.createRun(orgID: orgID, strategy: strategy, requestKey: requestKey)
    }

    public func status(of runID: UUID) async throws -> RunStatus? {
        guard let run = try await journal.run(id: runID) else { return nil }
        return try await RunStatus.load(run: run, graph: graph, journal: journal, folds: folds)
    }

    public func recentRuns() async throws -> [RunRecord] { try await journal.recentRuns() }

    public func activeRuns() async throws -> [RunRecord] { try await journal.activeRuns() }

    /// Set when the node drains: workflows finish the page in flight and return `Interrupted`.
    public nonisolated let drainFlag = DrainFlag()

    /// Coordinators for the runs that should be coordinated here and are not yet (only the leader
    /// coordinates); each is marked active until ``coordinate(_:)`` returns.
    public func runsToStart() async -> [RunCoordinator] {
        guard !drainFlag.isSet, let leaderTerm = leadership.term else { return [] }
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
                runEntity: { [self] run, entity in try await self.dispatch(run, entity, term: leaderTerm) }, logger: logger
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
        } catch let error as JournalError where error.code == .ownershipLost {
            logger.warning("run handed to the next leader", metadata: ["sync.run": "\(run.id)", "sync.error": "\(error)"])
        } catch {
            logger.error("run stopped", metadata: ["sync.run": "\(run.id)", "sync.error": "\(error)"])
            // A later scheduling pass retries it (e.g. once Postgres is back).
            try? await Task.sleep(for: .seconds(1))
        }
        await finished(run.id)
    }

    private func finished(_ runID: UUID) { activeRuns.remove(runID) }

    public var hasActiveRuns: Bool { !activeRuns.isEmpty }

    /// The orchestrator's dispatch of one entity: to the shard owner in a cluster, here when alone.
    func dispatch(_ run: RunRecord, _ entity: String, term: Int64) async throws -> EntityRunOutcome {
        if let dispatcher {
            return try await dispatcher.dispatch(run: run, entity: entity, term: term)
        }
        return EntityRunOutcome(try await executeLocally(run, entity))
    }

    /// Runs an entity workflow of a run on this node, or joins the one already running for it.
    /// Throws `ownershipLost` when this node does not own the org's shard, and `Interrupted` when
    /// the node drains or hands the shard off (after the page in flight).
    public func executeLocally(_ run: RunRecord, _ entityName: String) async throws -> EntityWorkflow {
        let key = EntitySyncRunner.workflowID(run: run.id, entity: entityName)
        let epoch = work.writableEpoch(ofShard: shardMap.shard(ofOrg: run.orgID))
        // Join only a run under the shard's current epoch: one started under an older epoch is fenced
        // and may even hang (a commit on a dead connection); the new one resumes from the journal.
        if let running = localWorkflows[key], running.epoch == epoch { return try await running.task.value }
        let task = Task { try await self.runEntity(run, entityName) }
        let token = UUID()
        localWorkflows[key] = (epoch, token, task)
        defer { if localWorkflows[key]?.token == token { localWorkflows[key] = nil } }
        return try await task.value
    }

    /// One entity workflow of a run, on this node, under the shard's current epoch.
    nonisolated func runEntity(_ run: RunRecord, _ entityName: String) async throws -> EntityWorkflow {
        guard let entity = manifest.entity(named: entityName) else {
            preconditionFailure("orchestrator dispatched \(entityName), which the manifest lacks")
        }
        let shard = shardMap.shard(ofOrg: run.orgID)
        guard let epoch = work.writableEpoch(ofShard: shard) else {
            throw JournalError(code: .ownershipLost, workflowID: EntitySyncRunner.workflowID(run: run.id, entity: entityName),
                               detail: "this node does not own shard \(shard)")
        }
        work.enter(shard: shard)
        defer { work.leave(shard: shard) }
        let client = try await apiClient(orgID: run.orgID)
        let drainFlag = self.drainFlag
        let work = self.work
        var context = EntitySyncRunner.Context(
            run: run, entity: entity, fence: .shard(shard, epoch: epoch), client: client, journal: journal, store: store,
            transformer: PCOTransformer(manifest: manifest), overlapSeconds: configuration.overlapSeconds,
            shouldStop: { drainFlag.isSet || !work.mayContinue(shard: shard, epoch: epoch) }, progress: { _ in }, logger: logger
        )
        context.testCommitDelay = configuration.testCommitDelay
        context.nestedPartitions = configuration.nestedPartitions
        context.createdAtSplit = CreatedAtSplit(maximumPartitions: configuration.listingPartitions)
        context.activity = activity
        let runner = EntitySyncRunner(context: context)
        do {
            return try await runner.run()
        } catch let error as JournalError where error.code == .ownershipLost {
            work.reportFenced(shard: shard, epoch: epoch)
            throw error
        }
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
