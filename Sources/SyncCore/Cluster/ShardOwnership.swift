/// One node's view of every shard: which it should own, which it holds, and at which fence epoch it
/// may write. A value-type state machine without I/O; the shell carries out its actions against Redis
/// (leases), Postgres (fences) and its own workflow runners, and reports the outcomes as events.
///
/// It combines the desired assignment (rendezvous hashing over the live members), one `LeaseState`
/// per shard, the Postgres fence epoch and graceful handoff. The lifecycle of one shard (after
/// Temporal's shard states; "desired" means rendezvous picks this node and no shutdown was requested):
///
/// - `unowned`: lease released. -> `acquiringLease` when desired.
/// - `acquiringLease`: the lease is being acquired; refusals (a live holder, or a dead one whose key
///   has not expired yet) are retried every renew interval. -> `bumpingFence` (lease gained),
///   `releasing`/`unowned` (no longer desired).
/// - `bumpingFence`: the lease is held and the Postgres epoch is being bumped (`bumpFence`); a failed
///   bump is retried after the retry delay. -> `owned(epoch)` (`startWriting`), `releasing` (no longer
///   desired when the bump's answer comes), `abandoningFenceBump`/`unowned` (lease lost).
/// - `abandoningFenceBump`: the lease was lost while a bump was in flight; its answer is awaited and
///   discarded, so a stale epoch can never be confused with a later bump's. -> `unowned`.
/// - `owned(epoch)`: writable. -> `handingOff(epoch)` (desired elsewhere: `stopStartingWork`),
///   `lost` (lease lost, or a write was fenced: `stopWriting`).
/// - `handingOff(epoch)`: no new work starts; the page in flight finishes under the still renewed
///   lease. -> `releasing` (`workflowsIdle`: `releaseLease(epoch)`), `owned(epoch)` (desired here again
///   before idle: `startWriting` again), `lost` (lease lost: `stopWriting`).
/// - `releasing`: the release is in flight. -> `unowned` (`leaseReleased`, or the release failed and
///   the key expires by its TTL).
/// - `lost(reason)`: `stopWriting` was sent; waiting for the shell's `workflowsIdle`, so one process
///   never runs two generations of a shard's workflows. -> `unowned` (then re-acquired if desired:
///   a new epoch), or `bumpingFence` directly when the lease is still held (a fenced write).
///
/// Contract with the shell: after `stopStartingWork` or `stopWriting` it reports `workflowsIdle` once
/// nothing of that shard runs any more (at once if nothing ran). `membersChanged` and
/// `shutdownRequested` also count as a clock tick, and every event carrying `now` checks the touched
/// lease's deadline first, so a decision is never taken on a lease known to have expired. A loss is
/// noticed at the first tick past the validity, so the shell ticks well within the safety margin
/// (or at `nextDeadline`): the margin is all that separates that tick from the key's expiry in Redis.
public struct ShardOwnership: Sendable, Hashable {
    public enum ShardState: Sendable, Hashable {
        case unowned
        case acquiringLease
        case bumpingFence
        case abandoningFenceBump
        case owned(epoch: Int64)
        case handingOff(epoch: Int64)
        case releasing
        case lost(reason: StopReason)
    }

    /// Why writing on a shard must stop at once.
    public enum StopReason: Sendable, Hashable, CustomStringConvertible {
        /// The shard's Redis lease was lost.
        case leaseLost(LeaseLossReason)
        /// Postgres rejected a write under this epoch (or its outcome is unknown): another node took
        /// the shard, or this node must re-take it with a new epoch before writing again.
        case fenceRejected(epoch: Int64)

        public var description: String {
            switch self {
            case .leaseLost(let reason): "shard lease lost: \(reason)"
            case .fenceRejected(let epoch): "a write under fence epoch \(epoch) was rejected or its outcome is unknown"
            }
        }
    }

    public enum Action: Sendable, Hashable {
        /// Acquire the shard's Redis lease ("set if absent or already ours", with the TTL).
        case acquireLease(shard: Int)
        /// Renew these shards' leases, in one round trip; report each shard's outcome.
        case renewLeases(shards: [Int])
        /// Bump the shard's fence epoch in Postgres (owner = this node) and report the new epoch.
        case bumpFence(shard: Int)
        /// Start (or resume) the shard's workflows; every write carries this epoch.
        case startWriting(shard: Int, epoch: Int64)
        /// Handoff began: start no new work on the shard; let the page in flight finish, then report
        /// `workflowsIdle`.
        case stopStartingWork(shard: Int)
        /// Abort the shard's workflows at once, then report `workflowsIdle`.
        case stopWriting(shard: Int, reason: StopReason)
        /// Clear the Postgres owner if still (this node, epoch) and delete the Redis key if still ours.
        /// `epoch` is nil when no fence was taken under this lease (only the key is deleted).
        case releaseLease(shard: Int, epoch: Int64?)
    }

    private struct Slot: Sendable, Hashable {
        var state: ShardState = .unowned
        var lease: LeaseState
        var fenceBumpInFlight = false
        var fenceRetryAt: ClusterInstant?
    }

    /// Actions of one event, in the order the shell must carry them out: stops first (they are about
    /// safety), then the rest, then one batched renewal.
    private struct Output {
        var stops: [Action] = []
        var others: [Action] = []
        var renewals: [Int] = []

        var actions: [Action] {
            stops + others + (renewals.isEmpty ? [] : [.renewLeases(shards: renewals.sorted())])
        }
    }

    public let nodeID: String
    public let shardCount: Int
    public let timings: LeaseTimings
    /// The live members the assignment was last computed from, sorted.
    public private(set) var liveNodeIDs: [String] = []
    public private(set) var isShuttingDown = false
    private var desired: [Bool]
    private var slots: [Slot]
    private var latestInstant = ClusterInstant(milliseconds: .min)

    public init(nodeID: String, shardCount: Int, lease: LeaseTimings) {
        precondition(shardCount > 0, "shardCount must be positive, got \(shardCount)")
        self.nodeID = nodeID
        self.shardCount = shardCount
        self.timings = lease
        desired = Array(repeating: false, count: shardCount)
        slots = Array(repeating: Slot(lease: LeaseState(timings: lease)), count: shardCount)
    }

    // MARK: Events

    /// The live membership changed (the shell passes `MembershipView.liveNodeIDs`, which includes this
    /// node once its heartbeat is registered). Recomputes the desired shards and starts acquisitions
    /// and handoffs. Also a clock tick.
    public mutating func membersChanged(_ liveNodeIDs: [String], now: ClusterInstant) -> [Action] {
        var out = Output()
        tickAll(now, into: &out)
        self.liveNodeIDs = Array(Set(liveNodeIDs)).sorted()
        recomputeDesired()
        for shard in 0..<shardCount { reconcile(shard, into: &out) }
        return out.actions
    }

    /// The acquire sent at `sentAt` won the shard's lease.
    public mutating func leaseAcquired(_ shard: Int, sentAt: ClusterInstant) -> [Action] {
        onShard(shard) { this, out in this.drive(shard, this.slots[shard].lease.acquireSucceeded(sentAt: sentAt), into: &out) }
    }

    /// The acquire was refused: another node holds the lease. Retried every renew interval.
    public mutating func leaseRefused(_ shard: Int, now: ClusterInstant) -> [Action] {
        onShard(shard, now: now) { this, out in this.drive(shard, this.slots[shard].lease.acquireRefused(now: now), into: &out) }
    }

    /// The renewal sent at `sentAt` extended the shard's lease.
    public mutating func leaseRenewed(_ shard: Int, sentAt: ClusterInstant) -> [Action] {
        onShard(shard) { this, out in this.drive(shard, this.slots[shard].lease.renewSucceeded(sentAt: sentAt), into: &out) }
    }

    /// The renewal was refused: the key holds another token. The lease is lost.
    public mutating func leaseRenewRefused(_ shard: Int, now: ClusterInstant) -> [Action] {
        onShard(shard, now: now) { this, out in this.drive(shard, this.slots[shard].lease.renewRefused(now: now), into: &out) }
    }

    /// A lease request for the shard failed (error or timeout; outcome unknown).
    public mutating func leaseRequestFailed(_ shard: Int, now: ClusterInstant) -> [Action] {
        onShard(shard, now: now) { this, out in this.drive(shard, this.slots[shard].lease.requestFailed(now: now), into: &out) }
    }

    /// The release of the shard's lease was carried out.
    public mutating func leaseReleased(_ shard: Int) -> [Action] {
        onShard(shard) { this, out in this.drive(shard, this.slots[shard].lease.releaseCompleted(), into: &out) }
    }

    /// The fence bump committed: `epoch` is the shard's new epoch, owned by this node.
    public mutating func fenceBumped(_ shard: Int, epoch: Int64) -> [Action] {
        onShard(shard) { this, out in
            switch this.slots[shard].state {
            case .bumpingFence where this.slots[shard].fenceBumpInFlight:
                this.slots[shard].fenceBumpInFlight = false
                if this.desired[shard] && this.slots[shard].lease.isValid(at: this.latestInstant) {
                    this.slots[shard].state = .owned(epoch: epoch)
                    out.others.append(.startWriting(shard: shard, epoch: epoch))
                } else {
                    this.release(shard, epoch: epoch, into: &out)
                }
            case .abandoningFenceBump:
                this.slots[shard].state = .unowned
            default:
                break
            }
        }
    }

    /// The fence bump failed (outcome unknown). Retried after the retry delay while the shard is
    /// desired; a bump that did commit is harmless, the retry bumps again.
    public mutating func fenceBumpFailed(_ shard: Int, now: ClusterInstant) -> [Action] {
        onShard(shard, now: now) { this, out in
            switch this.slots[shard].state {
            case .bumpingFence where this.slots[shard].fenceBumpInFlight:
                this.slots[shard].fenceBumpInFlight = false
                if this.desired[shard] {
                    this.slots[shard].fenceRetryAt = now.advanced(byMilliseconds: this.timings.retryDelayMilliseconds)
                } else {
                    this.release(shard, epoch: nil, into: &out)
                }
            case .abandoningFenceBump:
                this.slots[shard].state = .unowned
            default:
                break
            }
        }
    }

    /// A write under `epoch` was rejected by the fence, or its outcome is unknown: the epoch cannot be
    /// trusted any more. Writing stops; once idle the shard is re-fenced (or released).
    public mutating func writeFenced(_ shard: Int, epoch: Int64) -> [Action] {
        onShard(shard) { this, out in
            switch this.slots[shard].state {
            case .owned(epoch), .handingOff(epoch):
                let reason = StopReason.fenceRejected(epoch: epoch)
                this.slots[shard].state = .lost(reason: reason)
                out.stops.append(.stopWriting(shard: shard, reason: reason))
            default:
                break
            }
        }
    }

    /// Nothing of the shard runs any more (after `stopStartingWork` or `stopWriting`).
    public mutating func workflowsIdle(_ shard: Int) -> [Action] {
        onShard(shard) { this, out in
            switch this.slots[shard].state {
            case .handingOff(let epoch):
                this.release(shard, epoch: epoch, into: &out)
            case .lost:
                if !this.slots[shard].lease.isHeld {
                    this.slots[shard].state = .unowned
                } else if this.desired[shard] {
                    // A fenced write while the lease is still ours: take a new epoch.
                    this.slots[shard].state = .bumpingFence
                    this.slots[shard].fenceBumpInFlight = true
                    out.others.append(.bumpFence(shard: shard))
                } else {
                    this.release(shard, epoch: nil, into: &out)
                }
            default:
                break
            }
        }
    }

    /// Time passed: leases expire or are renewed (batched), refused acquires and failed bumps retried.
    public mutating func clockTicked(_ now: ClusterInstant) -> [Action] {
        var out = Output()
        tickAll(now, into: &out)
        for shard in 0..<shardCount { reconcile(shard, into: &out) }
        return out.actions
    }

    /// The node is shutting down: hand every shard off (stop starting work, release when idle) and
    /// acquire nothing more. The shell waits for `isIdle` before leaving the membership.
    public mutating func shutdownRequested(now: ClusterInstant) -> [Action] {
        var out = Output()
        tickAll(now, into: &out)
        isShuttingDown = true
        recomputeDesired()
        for shard in 0..<shardCount { reconcile(shard, into: &out) }
        return out.actions
    }

    // MARK: Queries

    /// The epoch to write the shard under, or nil unless it is `owned` (not handing off, not lost).
    public func writableEpoch(ofShard shard: Int) -> Int64? {
        checkShard(shard)
        if case .owned(let epoch) = slots[shard].state { return epoch }
        return nil
    }

    /// The epoch to write the shard under at `now`: also nil once the lease's local validity has
    /// passed, even if no clock tick reported it yet.
    public func writableEpoch(ofShard shard: Int, at now: ClusterInstant) -> Int64? {
        guard let epoch = writableEpoch(ofShard: shard), slots[shard].lease.isValid(at: now) else { return nil }
        return epoch
    }

    /// The shards this node holds under a fence epoch: `owned`, and `handingOff` (its page in flight
    /// still writes under that epoch). For the writable ones alone see `writableShards(at:)`.
    public var ownedShards: [Int: Int64] {
        var result: [Int: Int64] = [:]
        for (shard, slot) in slots.enumerated() {
            switch slot.state {
            case .owned(let epoch), .handingOff(let epoch): result[shard] = epoch
            default: break
            }
        }
        return result
    }

    /// The shards on which new work may start at `now`, with their epochs: `owned`, with the lease
    /// still valid at `now` (the batch form of `writableEpoch(ofShard:at:)`).
    public func writableShards(at now: ClusterInstant) -> [Int: Int64] {
        var result: [Int: Int64] = [:]
        for (shard, slot) in slots.enumerated() {
            if case .owned(let epoch) = slot.state, slot.lease.isValid(at: now) { result[shard] = epoch }
        }
        return result
    }

    public func state(ofShard shard: Int) -> ShardState {
        checkShard(shard)
        return slots[shard].state
    }

    public func leaseState(ofShard shard: Int) -> LeaseState.State {
        checkShard(shard)
        return slots[shard].lease.state
    }

    /// The shards rendezvous hashing gives this node (empty once shutting down), sorted.
    public var desiredShards: [Int] {
        desired.indices.filter { desired[$0] }
    }

    /// Nothing held and nothing in flight: every shard `unowned` with its lease released.
    public var isIdle: Bool {
        slots.allSatisfy { $0.state == .unowned && $0.lease.state == .released }
    }

    /// The next instant at which a clock tick changes something; nil when only events can.
    public var nextDeadline: ClusterInstant? {
        slots.compactMap { slot in
            [slot.lease.nextDeadline, slot.fenceBumpInFlight ? nil : slot.fenceRetryAt].compactMap { $0 }.min()
        }.min()
    }

    // MARK: Internals

    private func checkShard(_ shard: Int) {
        precondition(shard >= 0 && shard < shardCount, "shard \(shard) is outside 0..<\(shardCount)")
    }

    /// Runs one shard event: the body, then the reconciliation of that shard with its desire.
    private mutating func onShard(_ shard: Int, now: ClusterInstant? = nil, _ body: (inout ShardOwnership, inout Output) -> Void) -> [Action] {
        checkShard(shard)
        if let now { latestInstant = max(latestInstant, now) }
        var out = Output()
        body(&self, &out)
        settle(shard)
        reconcile(shard, into: &out)
        return out.actions
    }

    private mutating func recomputeDesired() {
        guard !isShuttingDown, liveNodeIDs.contains(nodeID) else {
            desired = Array(repeating: false, count: shardCount)
            return
        }
        let assignment = RendezvousHashing.assignment(shardCount: shardCount, members: liveNodeIDs)
        desired = (0..<shardCount).map { assignment[$0] == nodeID }
    }

    private mutating func tickAll(_ now: ClusterInstant, into out: inout Output) {
        latestInstant = max(latestInstant, now)
        for shard in 0..<shardCount {
            drive(shard, slots[shard].lease.clockTicked(now), into: &out)
            if case .bumpingFence = slots[shard].state, !slots[shard].fenceBumpInFlight,
               let retryAt = slots[shard].fenceRetryAt, now >= retryAt {
                slots[shard].fenceRetryAt = nil
                slots[shard].fenceBumpInFlight = true
                out.others.append(.bumpFence(shard: shard))
            }
        }
    }

    /// Moves a shard towards its desire: acquire what is desired, hand off what is not.
    private mutating func reconcile(_ shard: Int, into out: inout Output) {
        let wanted = desired[shard]
        switch slots[shard].state {
        case .unowned where wanted:
            slots[shard].state = .acquiringLease
            drive(shard, slots[shard].lease.acquisitionWanted(now: latestInstant), into: &out)
        case .acquiringLease where !wanted:
            // A refused acquire is simply dropped; one in flight may still land, so it is released.
            drive(shard, slots[shard].lease.releaseWanted(now: latestInstant), into: &out)
            slots[shard].state = slots[shard].lease.state == .released ? .unowned : .releasing
        case .owned(let epoch) where !wanted:
            slots[shard].state = .handingOff(epoch: epoch)
            out.others.append(.stopStartingWork(shard: shard))
        case .handingOff(let epoch) where wanted && slots[shard].lease.isValid(at: latestInstant):
            slots[shard].state = .owned(epoch: epoch)
            out.others.append(.startWriting(shard: shard, epoch: epoch))
        default:
            break
        }
    }

    /// Gives the shard's lease up after its work is idle.
    private mutating func release(_ shard: Int, epoch: Int64?, into out: inout Output) {
        slots[shard].fenceRetryAt = nil
        drive(shard, slots[shard].lease.releaseWanted(now: latestInstant), releaseEpoch: epoch, into: &out)
        // If the lease expired at this very moment the drive reported it lost; the work is idle anyway.
        slots[shard].state = slots[shard].lease.state == .released ? .unowned : .releasing
    }

    /// Carries out the lease machine's actions for one shard.
    private mutating func drive(_ shard: Int, _ leaseActions: [LeaseState.Action], releaseEpoch: Int64? = nil, into out: inout Output) {
        for action in leaseActions {
            switch action {
            case .sendAcquire:
                out.others.append(.acquireLease(shard: shard))
            case .sendRenew:
                out.renewals.append(shard)
            case .sendRelease:
                out.others.append(.releaseLease(shard: shard, epoch: releaseEpoch))
            case .leaseGained:
                leaseGained(shard, into: &out)
            case .leaseLost(let reason):
                leaseLost(shard, reason: reason, into: &out)
            }
        }
        settle(shard)
    }

    private mutating func leaseGained(_ shard: Int, into out: inout Output) {
        guard case .acquiringLease = slots[shard].state else {
            preconditionFailure("shard \(shard): lease gained in state \(slots[shard].state), lease \(slots[shard].lease.state)")
        }
        if desired[shard] {
            slots[shard].state = .bumpingFence
            slots[shard].fenceBumpInFlight = true
            slots[shard].fenceRetryAt = nil
            out.others.append(.bumpFence(shard: shard))
        } else {
            release(shard, epoch: nil, into: &out)
        }
    }

    private mutating func leaseLost(_ shard: Int, reason: LeaseLossReason, into out: inout Output) {
        switch slots[shard].state {
        case .owned, .handingOff:
            let stop = StopReason.leaseLost(reason)
            slots[shard].state = .lost(reason: stop)
            out.stops.append(.stopWriting(shard: shard, reason: stop))
        case .bumpingFence:
            slots[shard].state = slots[shard].fenceBumpInFlight ? .abandoningFenceBump : .unowned
            slots[shard].fenceRetryAt = nil
        case .lost:
            break // writing stopped already (a fenced write); the lease goes too
        case .unowned, .acquiringLease, .abandoningFenceBump, .releasing:
            preconditionFailure("shard \(shard): lease lost (\(reason)) in state \(slots[shard].state)")
        }
    }

    /// Keeps `unowned` and `releasing` in step with the lease: an answer that lands late can make the
    /// lease send a release from `unowned`, and a completed release ends `releasing`.
    private mutating func settle(_ shard: Int) {
        switch slots[shard].state {
        case .unowned where slots[shard].lease.state != .released:
            slots[shard].state = .releasing
        case .releasing where slots[shard].lease.state == .released:
            slots[shard].state = .unowned
        default:
            break
        }
    }
}
