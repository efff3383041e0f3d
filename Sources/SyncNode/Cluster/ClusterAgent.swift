import Logging
import SyncCore
import SyncPostgres
import SyncRedis

/// The shell around the pure cluster machines (``MembershipView``, ``ShardOwnership``,
/// ``LeaderElection``): it feeds them what happened — a clock tick, a Redis reply, a Postgres fence
/// bump, a membership announcement — and carries out the actions they return. It is the only writer
/// of this node's ``ShardWorkTable`` permissions and ``Leadership``.
///
/// Every input goes through one stream consumed in order, so the machines see one event at a time;
/// slow Postgres work (bumping a fence or the leader term, which waits for the previous holder's
/// in-flight commit) runs in its own task and comes back as an input, so lease renewals never wait
/// behind it.
public actor ClusterAgent {
    enum Input: Sendable {
        case tick
        case announcement(MemberRecord.Announcement)
        case resubscribed
        case fenceBumped(shard: Int, epoch: Int64)
        case fenceBumpFailed(shard: Int, error: String)
        case termBegun(Int64)
        case termBeginFailed(String)
        case shutdownRequested
        /// A commit on the shard was rejected by its fence (another node bumped the epoch).
        case writeFenced(shard: Int, epoch: Int64)
    }

    let configuration: ClusterConfiguration
    let nodeID: String
    let keys: ClusterKeys
    let redis: RedisClient
    let fences: FenceStore
    let work: ShardWorkTable
    let activity: WorkflowActivity
    let leadership: Leadership
    let metrics: ClusterMetrics
    let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private let inputs: AsyncStream<Input>
    private let inputContinuation: AsyncStream<Input>.Continuation

    private(set) var selfInfo: MemberInfo
    private var membership: MembershipView
    private var ownership: ShardOwnership
    private var election: LeaderElection
    /// The leader named by the Redis lease at the last tick (for status; the term fences the writes).
    private(set) var leaderNodeID: String?
    private var shuttingDown = false
    private var redisFailures = 0
    /// When each shard began to stop (handoff or loss), for ``reportIdleShards(now:)``.
    private var stoppingSince: [Int: ClusterInstant] = [:]
    /// When this node first tried to take each shard it does not hold yet (for the takeover metric).
    private var takingSince: [Int: ClusterInstant] = [:]

    init(configuration: ClusterConfiguration, selfInfo: MemberInfo, shardCount: Int, redis: RedisClient, fences: FenceStore,
         work: ShardWorkTable, activity: WorkflowActivity, leadership: Leadership, metrics: ClusterMetrics, logger: Logger) {
        self.configuration = configuration
        self.nodeID = selfInfo.nodeID
        self.keys = ClusterKeys(clusterID: configuration.clusterID)
        self.redis = redis
        self.fences = fences
        self.work = work
        self.activity = activity
        self.leadership = leadership
        self.metrics = metrics
        self.logger = logger
        self.origin = clock.now
        self.selfInfo = selfInfo
        let timings = LeaseTimings(ttlMilliseconds: configuration.leaseTTLMilliseconds,
                                   renewIntervalMilliseconds: configuration.renewIntervalMilliseconds,
                                   safetyMarginMilliseconds: configuration.leaseSafetyMarginMilliseconds)
        self.membership = MembershipView(memberTTLMilliseconds: configuration.memberTTLMilliseconds)
        self.ownership = ShardOwnership(nodeID: selfInfo.nodeID, shardCount: shardCount, lease: timings)
        self.election = LeaderElection(lease: timings)
        (inputs, inputContinuation) = AsyncStream.makeStream(of: Input.self)
        let continuation = inputContinuation
        work.onFenced { shard, epoch in continuation.yield(.writeFenced(shard: shard, epoch: epoch)) }
    }

    /// This node's lease token: a restarted node (new incarnation) never takes its predecessor's
    /// lease for its own.
    var token: String { "\(nodeID)/\(selfInfo.incarnation)" }

    private func now() -> ClusterInstant {
        let elapsed = clock.now - origin
        return ClusterInstant(milliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Queries

    /// The live member that should own a shard (rendezvous hashing over the live members).
    public func desiredOwner(ofShard shard: Int) -> MemberInfo? {
        let members = membership.members
        guard let owner = RendezvousHashing.owner(ofShard: shard, among: members.map(\.nodeID)) else { return nil }
        return members.first { $0.nodeID == owner }
    }

    public var members: [MemberInfo] { membership.members }
    public var isLeader: Bool { leadership.term != nil }
    public var currentLeader: String? { leaderNodeID }

    // MARK: Running

    nonisolated func submit(_ input: Input) { inputContinuation.yield(input) }

    /// Runs until ``requestShutdown()`` has handed everything off (or the deadline passed).
    func run(subscriber: RedisSubscriber, shutdownDeadline: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            let interval = Duration.milliseconds(configuration.renewIntervalMilliseconds)
            group.addTask { [self] in
                while !Task.isCancelled {
                    submit(.tick)
                    try? await Task.sleep(for: interval)
                }
            }
            group.addTask { [self] in
                for await event in subscriber.events() {
                    switch event {
                    case .subscribed: submit(.resubscribed)
                    case .message(_, let payload):
                        if let announcement = MemberRecord.decodeAnnouncement(payload) { submit(.announcement(announcement)) }
                    case .disconnected: break
                    }
                }
            }
            try? await announce(.join(selfInfo))
            // Every node stands for leader; the lease decides.
            await perform(election.leadershipWanted(now: now()))
            var deadline: ContinuousClock.Instant?
            for await input in inputs {
                await handle(input)
                if shuttingDown {
                    if deadline == nil { deadline = clock.now + shutdownDeadline }
                    if ownership.isIdle && election.isIdle { break }
                    if let deadline, clock.now >= deadline {
                        logger.warning("shutdown deadline passed with shards still held; their leases expire on their own")
                        break
                    }
                }
            }
            work.revokeAll()
            leadership.end()
            try? await announce(.leave(nodeID: nodeID, incarnation: selfInfo.incarnation))
            _ = try? await redis.delete([keys.member(nodeID)])
            subscriber.stop()
            group.cancelAll()
        }
        inputContinuation.finish()
    }

    /// Begins a graceful shutdown: every shard is handed off after its page in flight, leadership released.
    nonisolated func requestShutdown() { submit(.shutdownRequested) }

    private func announce(_ announcement: MemberRecord.Announcement) async throws {
        try await redis.publish(keys.membershipChannel, MemberRecord.encode(announcement))
    }

    private func handle(_ input: Input) async {
        let now = now()
        switch input {
        case .tick:
            await heartbeatAndScan(now: now)
            await membershipChanged(membership.clockTicked(now), now: now)
            await perform(election.clockTicked(now))
            await perform(ownership.clockTicked(now))
            await reportIdleShards(now: now)
        case .announcement(.join(let member)):
            await membershipChanged(membership.joinAnnounced(member, at: now), now: now)
        case .announcement(.leave(let id, let incarnation)):
            await membershipChanged(membership.leaveAnnounced(nodeID: id, incarnation: incarnation, at: now), now: now)
        case .resubscribed:
            // Announcements may have been missed while disconnected: the next tick's scan catches up.
            submit(.tick)
        case .fenceBumped(let shard, let epoch):
            await perform(ownership.fenceBumped(shard, epoch: epoch))
        case .fenceBumpFailed(let shard, let error):
            logger.warning("cannot bump the shard fence", metadata: ["sync.shard": "\(shard)", "sync.error": "\(error)"])
            await perform(ownership.fenceBumpFailed(shard, now: now))
        case .termBegun(let term):
            await perform(election.termBegun(term))
        case .termBeginFailed(let error):
            logger.warning("cannot begin a leader term", metadata: ["sync.error": "\(error)"])
            await perform(election.termBeginFailed(now: now))
        case .writeFenced(let shard, let epoch):
            await perform(ownership.writeFenced(shard, epoch: epoch))
            await reportIdleShards(now: now)
        case .shutdownRequested:
            guard !shuttingDown else { return }
            shuttingDown = true
            logger.info("handing off every shard and leadership")
            await perform(ownership.shutdownRequested(now: now))
            await perform(election.shutdownRequested(now: now))
        }
    }

    /// After `stopStartingWork` or `stopWriting`, the machine waits to hear that nothing of the
    /// shard runs any more before it releases or re-takes it. A workflow that does not come back
    /// within ``stuckWorkflowGrace`` (a commit hung on a dead connection, say) is given up on: it
    /// can no longer commit anything, because the release or re-take moves the fence past its
    /// epoch, and waiting for it would leave the shard without an owner.
    private func reportIdleShards(now: ClusterInstant) async {
        for shard in 0..<ownership.shardCount {
            switch ownership.state(ofShard: shard) {
            case .handingOff, .lost:
                let since = stoppingSince[shard] ?? now
                stoppingSince[shard] = since
                let inFlight = work.inFlight(onShard: shard)
                if inFlight == 0 {
                    stoppingSince[shard] = nil
                    await perform(ownership.workflowsIdle(shard))
                } else if now.milliseconds(since: since) > Self.stuckWorkflowGrace {
                    let doing = activity.snapshot(shard: shard).map { "\($0.workflowID): \($0.phase) for \(Int($0.secondsInPhase)) s" }
                    logger.warning("workflows of the shard did not stop in time; moving on without them (the fence voids their commits)",
                                   metadata: ["sync.shard": "\(shard)", "sync.workflows": "\(inFlight)",
                                              "sync.activity": "\(doing.joined(separator: "; "))"])
                    stoppingSince[shard] = nil
                    await perform(ownership.workflowsIdle(shard))
                }
            default:
                stoppingSince[shard] = nil
            }
        }
        metrics.shardsOwned(ownership.ownedShards.count)
    }

    static let stuckWorkflowGrace: Int64 = 15_000

    private func heartbeatAndScan(now: ClusterInstant) async {
        do {
            if !shuttingDown {
                try await redis.set(keys.member(nodeID), MemberRecord.encode(selfInfo), expireAfterMilliseconds: configuration.memberTTLMilliseconds)
            }
            let memberKeys = try await redis.scan(matching: keys.memberPattern)
            let values = memberKeys.isEmpty ? [] : try await redis.mget(memberKeys)
            let seen = values.compactMap { $0.flatMap(MemberRecord.decode) }
            metrics.membersSeen(seen.count)
            await membershipChanged(membership.snapshotTaken(seen, at: now), now: now)
            leaderNodeID = try await redis.get(keys.leader).map { String($0.prefix { $0 != "/" }) }
            if redisFailures > 0 {
                logger.info("Redis answers again", metadata: ["sync.failures": "\(redisFailures)"])
                redisFailures = 0
            }
        } catch {
            redisFailures += 1
            if redisFailures == 1 || redisFailures % 20 == 0 {
                logger.warning("Redis unavailable; leases lapse unless it comes back", metadata: ["sync.error": "\(error)"])
            }
        }
    }

    private func membershipChanged(_ changes: [MembershipChange], now: ClusterInstant) async {
        guard !changes.isEmpty else { return }
        for change in changes {
            switch change {
            case .joined(let member): logger.info("member joined", metadata: ["sync.member": "\(member.nodeID)"])
            case .left(let member): logger.info("member left", metadata: ["sync.member": "\(member.nodeID)"])
            case .restarted(_, let member): logger.info("member restarted", metadata: ["sync.member": "\(member.nodeID)"])
            }
        }
        guard !shuttingDown else { return }
        await perform(ownership.membersChanged(membership.liveNodeIDs, now: now))
    }

    // MARK: Actions

    private func perform(_ actions: [ShardOwnership.Action]) async {
        for action in actions {
            switch action {
            case .acquireLease(let shard):
                let sentAt = now()
                if takingSince[shard] == nil { takingSince[shard] = sentAt }
                do {
                    let result = try await redis.evaluate(LeaseScripts.claim, keys: [keys.shard(shard)],
                                                          arguments: [token, String(configuration.leaseTTLMilliseconds)])
                    if result.integer == 1 {
                        await perform(ownership.leaseAcquired(shard, sentAt: sentAt))
                    } else {
                        await perform(ownership.leaseRefused(shard, now: now()))
                    }
                } catch {
                    await perform(ownership.leaseRequestFailed(shard, now: now()))
                }
            case .renewLeases(let shards):
                let sentAt = now()
                do {
                    let result = try await redis.evaluate(LeaseScripts.renewMany, keys: shards.map(keys.shard),
                                                          arguments: [token, String(configuration.leaseTTLMilliseconds)])
                    guard case .array(let replies) = result, replies.count == shards.count else {
                        throw RenewReplyError(detail: "unexpected reply \(result)")
                    }
                    for (shard, reply) in zip(shards, replies) {
                        if reply.integer == 1 {
                            await perform(ownership.leaseRenewed(shard, sentAt: sentAt))
                        } else {
                            metrics.leaseLost()
                            await perform(ownership.leaseRenewRefused(shard, now: now()))
                        }
                    }
                } catch {
                    for shard in shards { await perform(ownership.leaseRequestFailed(shard, now: now())) }
                }
            case .bumpFence(let shard):
                let fences = fences
                let nodeID = nodeID
                Task {
                    do {
                        submit(.fenceBumped(shard: shard, epoch: try await fences.acquireShard(shard, owner: nodeID)))
                    } catch {
                        submit(.fenceBumpFailed(shard: shard, error: describePostgresError(error)))
                    }
                }
            case .startWriting(let shard, let epoch):
                work.grant(.writable(epoch: epoch), shard: shard)
                metrics.leaseAcquired()
                if let since = takingSince.removeValue(forKey: shard) { metrics.takeoverTook(milliseconds: now().milliseconds(since: since)) }
                logger.info("owns shard", metadata: ["sync.shard": "\(shard)", "sync.epoch": "\(epoch)"])
            case .stopStartingWork(let shard):
                if let epoch = ownership.ownedShards[shard] {
                    work.grant(.finishing(epoch: epoch), shard: shard)
                }
                logger.info("handing off shard", metadata: ["sync.shard": "\(shard)"])
            case .stopWriting(let shard, let reason):
                work.revoke(shard: shard)
                logger.warning("stopped writing shard", metadata: ["sync.shard": "\(shard)", "sync.reason": "\(reason)"])
            case .releaseLease(let shard, let epoch):
                work.revoke(shard: shard)
                if let epoch { try? await fences.releaseShard(shard, owner: nodeID, epoch: epoch) }
                _ = try? await redis.evaluate(LeaseScripts.release, keys: [keys.shard(shard)], arguments: [token])
                logger.info("released shard", metadata: ["sync.shard": "\(shard)", "sync.epoch": "\(epoch.map(String.init) ?? "-")"])
                await perform(ownership.leaseReleased(shard))
            }
        }
    }

    private func perform(_ actions: [LeaderElection.Action]) async {
        for action in actions {
            switch action {
            case .acquireLease:
                let sentAt = now()
                do {
                    let result = try await redis.evaluate(LeaseScripts.claim, keys: [keys.leader],
                                                          arguments: [token, String(configuration.leaseTTLMilliseconds)])
                    await perform(result.integer == 1 ? election.leaseAcquired(sentAt: sentAt) : election.leaseRefused(now: now()))
                } catch {
                    await perform(election.leaseRequestFailed(now: now()))
                }
            case .renewLease:
                let sentAt = now()
                do {
                    let result = try await redis.evaluate(LeaseScripts.renewMany, keys: [keys.leader],
                                                          arguments: [token, String(configuration.leaseTTLMilliseconds)])
                    if case .array(let replies) = result, replies.first?.integer == 1 {
                        await perform(election.leaseRenewed(sentAt: sentAt))
                    } else {
                        await perform(election.leaseRenewRefused(now: now()))
                    }
                } catch {
                    await perform(election.leaseRequestFailed(now: now()))
                }
            case .releaseLease:
                _ = try? await redis.evaluate(LeaseScripts.release, keys: [keys.leader], arguments: [token])
                await perform(election.leaseReleased())
            case .beginTerm:
                let fences = fences
                let nodeID = nodeID
                Task {
                    do { submit(.termBegun(try await fences.beginLeaderTerm(leader: nodeID))) } catch {
                        submit(.termBeginFailed(describePostgresError(error)))
                    }
                }
            case .startLeading(let term):
                leadership.begin(term: term)
                metrics.leadershipGained()
                logger.info("leading", metadata: ["sync.term": "\(term)"])
            case .stopLeading(let reason):
                leadership.end()
                logger.warning("stopped leading", metadata: ["sync.reason": "\(reason)"])
            }
        }
    }
}

struct RenewReplyError: Error, CustomStringConvertible {
    var detail: String
    var description: String { "lease renewal: \(detail)" }
}
