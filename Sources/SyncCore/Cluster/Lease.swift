/// How a Redis lease is timed.
///
/// A lease is valid locally for `ttl - safetyMargin` after the acquire or renew that won it was SENT;
/// it is renewed every `renewInterval` (so `renewInterval < ttl - safetyMargin`, leaving room for a few
/// attempts before the validity runs out).
public struct LeaseTimings: Sendable, Hashable {
    /// The key's time to live in Redis (`PX`). Default 10 s.
    public var ttlMilliseconds: Int64
    /// How often a held lease is renewed, and how often a refused acquire is retried. Default 3 s.
    public var renewIntervalMilliseconds: Int64
    /// Taken off the TTL for the local validity: covers the rate difference between this node's clock
    /// and Redis's, the time from the deadline to the next clock tick (tick more often than this), and
    /// from that tick to the writes actually stopping. Default 1 s.
    public var safetyMarginMilliseconds: Int64
    /// After a request failed (error or timeout: outcome unknown), the wait before trying again.
    /// Default: a quarter of the renew interval.
    public var retryDelayMilliseconds: Int64

    public init(
        ttlMilliseconds: Int64 = 10_000,
        renewIntervalMilliseconds: Int64 = 3_000,
        safetyMarginMilliseconds: Int64 = 1_000,
        retryDelayMilliseconds: Int64? = nil
    ) {
        precondition(ttlMilliseconds > 0, "lease ttl must be positive, got \(ttlMilliseconds) ms")
        precondition(safetyMarginMilliseconds >= 0 && safetyMarginMilliseconds < ttlMilliseconds,
                     "lease safety margin must be in 0..<ttl, got \(safetyMarginMilliseconds) ms for a ttl of \(ttlMilliseconds) ms")
        precondition(renewIntervalMilliseconds > 0 && renewIntervalMilliseconds < ttlMilliseconds - safetyMarginMilliseconds,
                     "lease renew interval must be in 1..<(ttl - safetyMargin), got \(renewIntervalMilliseconds) ms")
        let retry = retryDelayMilliseconds ?? max(1, renewIntervalMilliseconds / 4)
        precondition(retry > 0, "lease retry delay must be positive, got \(retry) ms")
        self.ttlMilliseconds = ttlMilliseconds
        self.renewIntervalMilliseconds = renewIntervalMilliseconds
        self.safetyMarginMilliseconds = safetyMarginMilliseconds
        self.retryDelayMilliseconds = retry
    }

    /// How long a won lease is valid locally, counted from the send time of the request that won it.
    public var validityMilliseconds: Int64 { ttlMilliseconds - safetyMarginMilliseconds }
}

/// Why a held lease was lost. The holder must stop writing at once.
public enum LeaseLossReason: Sendable, Hashable, CustomStringConvertible {
    /// The local validity ran out before a renewal succeeded (Redis slow or unreachable, or this process
    /// was paused). `renewalInFlight` says whether a renewal was still unanswered at the deadline.
    case expired(validUntil: ClusterInstant, renewalInFlight: Bool)
    /// A renewal was refused: the key holds another holder's token.
    case takenOver

    public var description: String {
        switch self {
        case .expired(let validUntil, let inFlight):
            "lease validity ended at \(validUntil)" + (inFlight ? " with a renewal still unanswered" : " without a successful renewal")
        case .takenOver:
            "lease renewal refused: another holder has the key"
        }
    }
}

/// One Redis lease (the leader lease, or one shard's lease) as a state machine without I/O.
///
/// The shell carries out the actions (`SET key token NX PX ttl` or "set if absent or already ours" to
/// acquire, compare-and-extend to renew, delete-if-ours to release) and reports each request's single
/// outcome back as an event, with the instant it SENT the request: the server's TTL started no earlier
/// than that, so the validity `sentAt + ttl - safetyMargin` can never outlast the key in Redis.
///
/// States and where they go:
/// - `released`: not held, not wanted. -> `acquiring` (acquisitionWanted).
/// - `acquiring(sentAt)`: an acquire is in flight. -> `held` (acquireSucceeded), `waitingToRetry`
///   (acquireRefused: retry after the renew interval; requestFailed: retry after the retry delay),
///   `releasing` (releaseWanted: the acquire may still land, so the key is deleted-if-ours).
/// - `waitingToRetry(retryAt)`: wanted, not held. -> `acquiring` (a tick at or after retryAt),
///   `held` (a late acquireSucceeded of the attempt reported failed), `released` (releaseWanted).
/// - `held(validUntil)`: -> `renewing` (renewal due), `released` + `leaseLost` (validity passed, or a
///   late refusal), `releasing` (releaseWanted).
/// - `renewing(validUntil, sentAt)`: a renewal is in flight. -> `held` (renewSucceeded extends the
///   validity; requestFailed keeps it and retries after the retry delay), `released` + `leaseLost`
///   (renewRefused, or a tick at or after validUntil: at once, without waiting for the renewal's
///   answer), `releasing` (releaseWanted).
/// - `releasing`: a release is in flight. -> `released` (releaseCompleted or requestFailed: the key
///   then expires by its TTL). An acquisitionWanted meanwhile is remembered and sent only after the
///   release's answer: an acquire overtaking the release would be deleted by it.
///
/// After `leaseLost` the machine is `released`: it never revives the lost lease by itself, and a late
/// `renewSucceeded` of the earlier tenure is ignored. The holder treats the lease as lost (stops
/// writing, announces it) and calls `acquisitionWanted` again if it still wants it; the shell's
/// acquire may win it straight back ("already ours"), and the holder then fences anew.
///
/// Every event that carries `now` first checks the deadline, so a loss is reported by the first event
/// that sees time past `validUntil`.
///
/// The token the shell writes should name the holder's incarnation (node id and incarnation), so a
/// restarted node never finds its predecessor's key "already ours"; it waits for the TTL like anyone.
/// The shell reports one outcome per request (a timeout is `requestFailed`); answers may arrive out of
/// order, and a late answer after a reported timeout is tolerated (see `waitingToRetry`).
public struct LeaseState: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case released
        case acquiring(sentAt: ClusterInstant)
        case waitingToRetry(retryAt: ClusterInstant)
        case held(validUntil: ClusterInstant)
        case renewing(validUntil: ClusterInstant, sentAt: ClusterInstant)
        case releasing
    }

    public enum Action: Sendable, Hashable {
        /// Send the acquire script ("set if absent or already ours", with the TTL).
        case sendAcquire
        /// Send the compare-and-extend renewal.
        case sendRenew
        /// Delete the key if it still holds our token.
        case sendRelease
        /// The lease is ours: the holder may act (for a shard: bump the fence first).
        case leaseGained
        /// The lease is gone: stop writing at once.
        case leaseLost(reason: LeaseLossReason)
    }

    public let timings: LeaseTimings
    public private(set) var state: State = .released
    /// When the next renewal is due; meaningful in `held`.
    private var renewalDueAt = ClusterInstant(milliseconds: 0)
    /// acquisitionWanted arrived while a release was in flight.
    private var acquireAfterRelease = false
    /// The latest instant any event reported: events without a time (answers) are judged against it.
    private var latestInstant = ClusterInstant(milliseconds: .min)

    public init(timings: LeaseTimings) {
        self.timings = timings
    }

    public init(ttlMilliseconds: Int64, renewIntervalMilliseconds: Int64, safetyMarginMilliseconds: Int64) {
        self.init(timings: LeaseTimings(
            ttlMilliseconds: ttlMilliseconds,
            renewIntervalMilliseconds: renewIntervalMilliseconds,
            safetyMarginMilliseconds: safetyMarginMilliseconds
        ))
    }

    // MARK: Events

    /// The holder wants the lease.
    public mutating func acquisitionWanted(now: ClusterInstant) -> [Action] {
        var actions = expireIfDue(now)
        switch state {
        case .released:
            state = .acquiring(sentAt: now)
            actions.append(.sendAcquire)
        case .releasing:
            acquireAfterRelease = true
        case .acquiring, .waitingToRetry, .held, .renewing:
            break
        }
        return actions
    }

    /// The acquire sent at `sentAt` won the key.
    public mutating func acquireSucceeded(sentAt: ClusterInstant) -> [Action] {
        switch state {
        case .acquiring, .waitingToRetry:
            let validUntil = sentAt.advanced(byMilliseconds: timings.validityMilliseconds)
            guard validUntil > latestInstant else {
                // The answer came too late to be of any use; the key may well be ours, so ask again.
                state = .acquiring(sentAt: latestInstant)
                return [.sendAcquire]
            }
            state = .held(validUntil: validUntil)
            renewalDueAt = sentAt.advanced(byMilliseconds: timings.renewIntervalMilliseconds)
            return [.leaseGained]
        case .released:
            // An acquire that landed after the holder gave the lease up: nobody wants the key, free it.
            state = .releasing
            return [.sendRelease]
        case .releasing:
            // The acquire may have landed after the release: delete it again.
            return [.sendRelease]
        case .held, .renewing:
            return []
        }
    }

    /// The acquire was refused: someone else holds the key. Retried after the renew interval.
    public mutating func acquireRefused(now: ClusterInstant) -> [Action] {
        let actions = expireIfDue(now)
        if case .acquiring = state {
            state = .waitingToRetry(retryAt: now.advanced(byMilliseconds: timings.renewIntervalMilliseconds))
        }
        return actions
    }

    /// The renewal sent at `sentAt` extended the key. Ignored unless a renewal is in flight: after a
    /// loss a late success must not revive the lease.
    public mutating func renewSucceeded(sentAt: ClusterInstant) -> [Action] {
        guard case .renewing(let validUntil, _) = state else { return [] }
        state = .held(validUntil: max(validUntil, sentAt.advanced(byMilliseconds: timings.validityMilliseconds)))
        renewalDueAt = sentAt.advanced(byMilliseconds: timings.renewIntervalMilliseconds)
        return []
    }

    /// The renewal was refused: the key holds someone else's token (or expired). The lease is lost.
    public mutating func renewRefused(now: ClusterInstant) -> [Action] {
        var actions = expireIfDue(now)
        switch state {
        case .renewing, .held:
            // In `held` this is the late refusal of a renewal reported failed: proof enough.
            state = .released
            actions.append(.leaseLost(reason: .takenOver))
        case .released, .acquiring, .waitingToRetry, .releasing:
            break
        }
        return actions
    }

    /// The request in flight failed (Redis error or timeout): its outcome is unknown. A held lease
    /// keeps its current validity and the renewal is retried after the retry delay; an acquire is
    /// retried after the retry delay; a release is given up (the key expires by its TTL).
    public mutating func requestFailed(now: ClusterInstant) -> [Action] {
        var actions = expireIfDue(now)
        switch state {
        case .acquiring:
            state = .waitingToRetry(retryAt: now.advanced(byMilliseconds: timings.retryDelayMilliseconds))
        case .renewing(let validUntil, _):
            state = .held(validUntil: validUntil)
            renewalDueAt = now.advanced(byMilliseconds: timings.retryDelayMilliseconds)
        case .releasing:
            actions += finishRelease()
        case .released, .waitingToRetry, .held:
            break
        }
        return actions
    }

    /// Time passed: the lease may expire, a renewal or a retried acquire may be due.
    public mutating func clockTicked(_ now: ClusterInstant) -> [Action] {
        var actions = expireIfDue(now)
        switch state {
        case .waitingToRetry(let retryAt) where now >= retryAt:
            state = .acquiring(sentAt: now)
            actions.append(.sendAcquire)
        case .held(let validUntil) where now >= renewalDueAt:
            state = .renewing(validUntil: validUntil, sentAt: now)
            actions.append(.sendRenew)
        default:
            break
        }
        return actions
    }

    /// The holder gives the lease up (it has stopped writing already).
    public mutating func releaseWanted(now: ClusterInstant) -> [Action] {
        var actions = expireIfDue(now)
        acquireAfterRelease = false
        switch state {
        case .released, .releasing:
            break
        case .waitingToRetry:
            state = .released
        case .acquiring, .held, .renewing:
            state = .releasing
            actions.append(.sendRelease)
        }
        return actions
    }

    /// The release was carried out (the key was deleted, or was not ours any more).
    public mutating func releaseCompleted() -> [Action] {
        guard case .releasing = state else { return [] }
        return finishRelease()
    }

    // MARK: Queries

    /// True while the lease is held (also while a renewal is in flight).
    public var isHeld: Bool {
        switch state {
        case .held, .renewing: true
        default: false
        }
    }

    /// Until when the held lease is valid locally.
    public var validUntil: ClusterInstant? {
        switch state {
        case .held(let validUntil), .renewing(let validUntil, _): validUntil
        default: nil
        }
    }

    /// True when the lease is held and still valid at `now`.
    public func isValid(at now: ClusterInstant) -> Bool {
        validUntil.map { now < $0 } ?? false
    }

    /// The next instant at which a clock tick changes something (a renewal or retry due, or the
    /// validity's end); nil when only an answer can.
    public var nextDeadline: ClusterInstant? {
        switch state {
        case .waitingToRetry(let retryAt): retryAt
        case .held(let validUntil): min(validUntil, renewalDueAt)
        case .renewing(let validUntil, _): validUntil
        case .released, .acquiring, .releasing: nil
        }
    }

    // MARK: Internals

    private mutating func expireIfDue(_ now: ClusterInstant) -> [Action] {
        latestInstant = max(latestInstant, now)
        switch state {
        case .held(let validUntil) where now >= validUntil:
            state = .released
            return [.leaseLost(reason: .expired(validUntil: validUntil, renewalInFlight: false))]
        case .renewing(let validUntil, _) where now >= validUntil:
            state = .released
            return [.leaseLost(reason: .expired(validUntil: validUntil, renewalInFlight: true))]
        default:
            return []
        }
    }

    private mutating func finishRelease() -> [Action] {
        state = .released
        guard acquireAfterRelease else { return [] }
        acquireAfterRelease = false
        state = .acquiring(sentAt: latestInstant)
        return [.sendAcquire]
    }
}
