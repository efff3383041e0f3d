/// Leader election: the leader lease in Redis plus a term in Postgres, as a state machine without I/O.
///
/// Winning the lease is not yet leading: the new leader first bumps the term in Postgres
/// (`beginTerm`), and the term fences the orchestrator's journal writes, so a former leader that was
/// paused past its lease can never commit. Only with the term does it `startLeading(term:)`.
///
/// States and where they go:
/// - `follower`: not leading. While leadership is wanted the lease is acquired and refusals retried
///   every renew interval (see `lease`). -> `beginningTerm` (lease gained).
/// - `beginningTerm`: lease held, the term bump is in flight. -> `leading(term)` (termBegun),
///   `follower` (termBeginFailed: the lease is released and acquiring resumes after the renew
///   interval, so a node that cannot reach Postgres leaves leadership to one that can),
///   `abandoningTerm` (lease lost, or shutdown).
/// - `abandoningTerm`: the lease is gone (or going) while a term bump is in flight; its answer is
///   awaited and discarded, so a stale term is never confused with a later bump's. -> `follower`.
/// - `leading(term)`: -> `follower` (lease lost, or shutdown: `stopLeading`). After a loss the lease
///   is acquired again at once if leadership is still wanted, and a win begins a new term.
public struct LeaderElection: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case follower
        case beginningTerm
        case abandoningTerm
        case leading(term: Int64)
    }

    public enum StopReason: Sendable, Hashable, CustomStringConvertible {
        /// The leader lease was lost: stop the orchestrator at once.
        case leaseLost(LeaseLossReason)
        /// This node is shutting down and gives leadership up.
        case shutdown

        public var description: String {
            switch self {
            case .leaseLost(let reason): "leader lease lost: \(reason)"
            case .shutdown: "the node is shutting down"
            }
        }
    }

    public enum Action: Sendable, Hashable {
        /// Acquire the leader key ("set if absent or already ours", with the TTL).
        case acquireLease
        /// Renew the leader key (compare-and-extend).
        case renewLease
        /// Delete the leader key if it still holds our token.
        case releaseLease
        /// Bump the leader term in Postgres and report it.
        case beginTerm
        /// Run the orchestrator; its journal writes carry `term`.
        case startLeading(term: Int64)
        /// Stop the orchestrator at once.
        case stopLeading(reason: StopReason)
    }

    public let timings: LeaseTimings
    public private(set) var state: State = .follower
    /// The leader lease's own state machine.
    public private(set) var lease: LeaseState
    public private(set) var wantsLeadership = false
    /// After a failed term bump, no acquire before this instant.
    private var retryAt: ClusterInstant?
    private var latestInstant = ClusterInstant(milliseconds: .min)

    public init(lease: LeaseTimings) {
        timings = lease
        self.lease = LeaseState(timings: lease)
    }

    // MARK: Events

    /// This node wants to lead (every node does while it runs).
    public mutating func leadershipWanted(now: ClusterInstant) -> [Action] {
        note(now)
        wantsLeadership = true
        return reconcile()
    }

    /// The acquire sent at `sentAt` won the leader key.
    public mutating func leaseAcquired(sentAt: ClusterInstant) -> [Action] {
        drive(lease.acquireSucceeded(sentAt: sentAt)) + reconcile()
    }

    /// The acquire was refused: another node leads.
    public mutating func leaseRefused(now: ClusterInstant) -> [Action] {
        note(now)
        return drive(lease.acquireRefused(now: now)) + reconcile()
    }

    /// The renewal sent at `sentAt` extended the leader key.
    public mutating func leaseRenewed(sentAt: ClusterInstant) -> [Action] {
        drive(lease.renewSucceeded(sentAt: sentAt)) + reconcile()
    }

    /// The renewal was refused: another node holds the key.
    public mutating func leaseRenewRefused(now: ClusterInstant) -> [Action] {
        note(now)
        return drive(lease.renewRefused(now: now)) + reconcile()
    }

    /// A leader-lease request failed (error or timeout; outcome unknown).
    public mutating func leaseRequestFailed(now: ClusterInstant) -> [Action] {
        note(now)
        return drive(lease.requestFailed(now: now)) + reconcile()
    }

    /// The release of the leader key was carried out.
    public mutating func leaseReleased() -> [Action] {
        drive(lease.releaseCompleted()) + reconcile()
    }

    /// The term bump committed: `term` is this node's new leadership term.
    public mutating func termBegun(_ term: Int64) -> [Action] {
        switch state {
        case .beginningTerm where lease.isValid(at: latestInstant):
            state = .leading(term: term)
            return [.startLeading(term: term)]
        case .beginningTerm:
            // The lease ran out while Postgres answered: a term we cannot use. The tick reports the
            // loss (-> abandoningTerm), and this very answer ends the abandonment.
            let actions = drive(lease.clockTicked(latestInstant))
            state = .follower
            return actions + reconcile()
        case .abandoningTerm:
            state = .follower
            return reconcile()
        case .follower, .leading:
            return []
        }
    }

    /// The term bump failed (outcome unknown): release the lease and try again after the renew interval.
    public mutating func termBeginFailed(now: ClusterInstant) -> [Action] {
        note(now)
        switch state {
        case .beginningTerm:
            state = .follower
            retryAt = now.advanced(byMilliseconds: timings.renewIntervalMilliseconds)
            return drive(lease.releaseWanted(now: now)) + reconcile()
        case .abandoningTerm:
            state = .follower
            return reconcile()
        case .follower, .leading:
            return []
        }
    }

    /// Time passed: the lease may expire or be renewed; acquires are retried.
    public mutating func clockTicked(_ now: ClusterInstant) -> [Action] {
        note(now)
        return drive(lease.clockTicked(now)) + reconcile()
    }

    /// The node is shutting down: stop leading and release the key.
    public mutating func shutdownRequested(now: ClusterInstant) -> [Action] {
        note(now)
        wantsLeadership = false
        var actions = drive(lease.clockTicked(now))
        switch state {
        case .leading:
            state = .follower
            actions.append(.stopLeading(reason: .shutdown))
            actions += drive(lease.releaseWanted(now: now))
        case .beginningTerm:
            state = .abandoningTerm
            actions += drive(lease.releaseWanted(now: now))
        case .follower, .abandoningTerm:
            break
        }
        return actions + reconcile()
    }

    // MARK: Queries

    /// The term this node leads under; nil unless leading.
    public var currentTerm: Int64? {
        if case .leading(let term) = state { return term }
        return nil
    }

    /// True while leading and the lease is valid at `now` (also before a tick reported its loss).
    public func isLeading(at now: ClusterInstant) -> Bool {
        currentTerm != nil && lease.isValid(at: now)
    }

    /// Not leading, nothing held, nothing in flight.
    public var isIdle: Bool {
        state == .follower && lease.state == .released
    }

    /// The next instant at which a clock tick changes something; nil when only events can.
    public var nextDeadline: ClusterInstant? {
        [lease.nextDeadline, wantsLeadership ? retryAt : nil].compactMap { $0 }.min()
    }

    // MARK: Internals

    private mutating func note(_ now: ClusterInstant) {
        latestInstant = max(latestInstant, now)
    }

    /// Acquire when wanted and allowed; drop a pending acquisition when not wanted.
    private mutating func reconcile() -> [Action] {
        guard state == .follower else { return [] }
        if wantsLeadership {
            guard lease.state == .released else { return [] }
            if let retryAt, latestInstant < retryAt { return [] }
            retryAt = nil
            return drive(lease.acquisitionWanted(now: latestInstant))
        }
        switch lease.state {
        case .acquiring, .waitingToRetry:
            return drive(lease.releaseWanted(now: latestInstant))
        default:
            return []
        }
    }

    private mutating func drive(_ leaseActions: [LeaseState.Action]) -> [Action] {
        var actions: [Action] = []
        for action in leaseActions {
            switch action {
            case .sendAcquire:
                actions.append(.acquireLease)
            case .sendRenew:
                actions.append(.renewLease)
            case .sendRelease:
                actions.append(.releaseLease)
            case .leaseGained:
                guard state == .follower else {
                    preconditionFailure("leader lease gained in state \(state), lease \(lease.state)")
                }
                if wantsLeadership {
                    state = .beginningTerm
                    actions.append(.beginTerm)
                } else {
                    actions += drive(lease.releaseWanted(now: latestInstant))
                }
            case .leaseLost(let reason):
                switch state {
                case .leading:
                    state = .follower
                    actions.append(.stopLeading(reason: .leaseLost(reason)))
                case .beginningTerm:
                    state = .abandoningTerm
                case .follower, .abandoningTerm:
                    preconditionFailure("leader lease lost (\(reason)) in state \(state)")
                }
            }
        }
        return actions
    }
}
