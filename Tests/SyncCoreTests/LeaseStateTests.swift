import Testing
@testable import SyncCore

@Suite("Lease state machine")
struct LeaseStateTests {
    /// Valid for 9 s after the send time, renewed every 3 s, failed requests retried after 750 ms.
    static func lease() -> LeaseState {
        LeaseState(ttlMilliseconds: 10_000, renewIntervalMilliseconds: 3_000, safetyMarginMilliseconds: 1_000)
    }

    static func held(sentAt: Int64 = 0) -> LeaseState {
        var lease = lease()
        _ = lease.acquisitionWanted(now: at(sentAt))
        _ = lease.acquireSucceeded(sentAt: at(sentAt))
        return lease
    }

    @Test("validity counts from the SEND time of the request that won, not from its answer")
    func validityFromSendTime() {
        var lease = Self.lease()
        #expect(lease.acquisitionWanted(now: at(1_000)) == [.sendAcquire])
        #expect(lease.state == .acquiring(sentAt: at(1_000)))
        #expect(lease.clockTicked(at(1_400)) == [], "the answer is slow")
        #expect(lease.acquireSucceeded(sentAt: at(1_000)) == [.leaseGained])
        #expect(lease.state == .held(validUntil: at(10_000)), "1_000 + ttl 10_000 - margin 1_000")
        #expect(lease.isValid(at: at(9_999)) && !lease.isValid(at: at(10_000)))
    }

    @Test("renewals every renew interval extend the validity from their send time")
    func renewals() {
        var lease = Self.held()
        #expect(lease.nextDeadline == at(3_000))
        #expect(lease.clockTicked(at(2_999)) == [])
        #expect(lease.clockTicked(at(3_000)) == [.sendRenew])
        #expect(lease.state == .renewing(validUntil: at(9_000), sentAt: at(3_000)))
        #expect(lease.clockTicked(at(3_100)) == [], "one renewal in flight at a time")
        #expect(lease.renewSucceeded(sentAt: at(3_000)) == [])
        #expect(lease.state == .held(validUntil: at(12_000)))
        #expect(lease.clockTicked(at(5_999)) == [])
        #expect(lease.clockTicked(at(6_000)) == [.sendRenew])
    }

    @Test("expiry while a renewal is in flight: leaseLost at the deadline tick; the late success does not revive it")
    func expiryDuringRenewal() {
        var lease = Self.held()
        #expect(lease.clockTicked(at(3_000)) == [.sendRenew])
        for time in stride(from: Int64(3_100), to: 9_000, by: 100) {
            #expect(lease.clockTicked(at(time)) == [], "no answer yet, still valid at \(time)")
        }
        #expect(lease.clockTicked(at(9_000)) == [.leaseLost(reason: .expired(validUntil: at(9_000), renewalInFlight: true))],
                "lost at the deadline without waiting for the renewal's answer")
        #expect(lease.state == .released && !lease.isHeld)
        // The renewal did reach Redis after all; its answer comes now. The lease stays lost.
        #expect(lease.renewSucceeded(sentAt: at(3_000)) == [])
        #expect(lease.state == .released && !lease.isValid(at: at(9_001)))
        #expect(lease.clockTicked(at(9_100)) == [], "nor does a later tick revive it")
        // The holder re-acquires on purpose; the stale answer is still no substitute for the acquire.
        #expect(lease.acquisitionWanted(now: at(9_200)) == [.sendAcquire])
        #expect(lease.renewSucceeded(sentAt: at(3_000)) == [])
        #expect(lease.state == .acquiring(sentAt: at(9_200)))
        #expect(lease.acquireSucceeded(sentAt: at(9_200)) == [.leaseGained], "a fresh tenure")
        #expect(lease.validUntil == at(18_200))
    }

    @Test("a refused renewal loses the lease at once")
    func refusedRenewal() {
        var lease = Self.held()
        _ = lease.clockTicked(at(3_000))
        #expect(lease.renewRefused(now: at(3_020)) == [.leaseLost(reason: .takenOver)])
        #expect(lease.state == .released)
        #expect(lease.renewSucceeded(sentAt: at(3_000)) == [])
        #expect(lease.renewRefused(now: at(3_030)) == [], "reported once")
    }

    @Test("failed requests keep the current validity and retry, until the deadline")
    func requestFailures() {
        var lease = Self.held()
        #expect(lease.clockTicked(at(3_000)) == [.sendRenew])
        #expect(lease.requestFailed(now: at(3_500)) == [])
        #expect(lease.state == .held(validUntil: at(9_000)), "outcome unknown: the validity we know stays")
        #expect(lease.clockTicked(at(4_249)) == [])
        #expect(lease.clockTicked(at(4_250)) == [.sendRenew], "retried after the retry delay (a quarter of the interval)")
        var time: Int64 = 4_250
        while time + 950 < 9_000 {
            #expect(lease.requestFailed(now: at(time + 200)) == [])
            time += 200 + 750
            #expect(lease.clockTicked(at(time)) == [.sendRenew])
        }
        #expect(lease.isValid(at: at(8_999)))
        #expect(lease.clockTicked(at(9_000)) == [.leaseLost(reason: .expired(validUntil: at(9_000), renewalInFlight: true))])
        #expect(lease.requestFailed(now: at(9_100)) == [], "the answer of the last attempt changes nothing")
        #expect(lease.state == .released)

        // A failed renewal whose retry then succeeds: validity from the successful send.
        var other = Self.held()
        _ = other.clockTicked(at(3_000))
        _ = other.requestFailed(now: at(3_200))
        #expect(other.clockTicked(at(3_950)) == [.sendRenew])
        #expect(other.renewSucceeded(sentAt: at(3_950)) == [])
        #expect(other.validUntil == at(12_950))
    }

    @Test("a refused acquire is retried every renew interval, no sooner")
    func acquireRetryCadence() {
        var lease = Self.lease()
        var sends: [Int64] = []
        for time in stride(from: Int64(0), through: 10_000, by: 50) {
            let actions = time == 0 ? lease.acquisitionWanted(now: at(0)) : lease.clockTicked(at(time))
            if actions == [.sendAcquire] {
                sends.append(time)
                // Refused 40 ms later, except the fourth attempt, which wins.
                if sends.count < 4 {
                    #expect(lease.acquireRefused(now: at(time + 40)) == [])
                } else {
                    #expect(lease.acquireSucceeded(sentAt: at(time)) == [.leaseGained])
                }
            } else {
                #expect(actions.isEmpty || actions == [.sendRenew])
            }
            if lease.isHeld { break }
        }
        #expect(sends == [0, 3_050, 6_100, 9_150])
        #expect(lease.validUntil == at(18_150))
    }

    @Test("a failed acquire is retried after the retry delay; its late success is taken")
    func failedAcquire() {
        var lease = Self.lease()
        _ = lease.acquisitionWanted(now: at(0))
        #expect(lease.requestFailed(now: at(500)) == [])
        #expect(lease.state == .waitingToRetry(retryAt: at(1_250)))
        // The acquire did land; its answer arrives after the timeout was reported.
        #expect(lease.acquireSucceeded(sentAt: at(0)) == [.leaseGained])
        #expect(lease.validUntil == at(9_000))
    }

    @Test("an acquire answered after its validity would have ended is sent again, not gained")
    func uselessLateAcquire() {
        var lease = Self.lease()
        _ = lease.acquisitionWanted(now: at(0))
        _ = lease.requestFailed(now: at(5_000))
        _ = lease.clockTicked(at(5_750))
        #expect(lease.clockTicked(at(9_500)) == [])
        #expect(lease.acquireSucceeded(sentAt: at(0)) == [.sendAcquire])
        #expect(!lease.isHeld)
        #expect(lease.acquireSucceeded(sentAt: at(9_500)) == [.leaseGained])
    }

    @Test("release: sent once, completed; an acquire wanted meanwhile waits for the release's answer")
    func release() {
        var lease = Self.held()
        #expect(lease.releaseWanted(now: at(1_000)) == [.sendRelease])
        #expect(lease.state == .releasing)
        #expect(lease.releaseWanted(now: at(1_010)) == [])
        #expect(lease.clockTicked(at(3_000)) == [], "no renewal of a lease being released")
        #expect(lease.releaseCompleted() == [])
        #expect(lease.state == .released)
        #expect(lease.releaseCompleted() == [])

        var again = Self.held()
        _ = again.releaseWanted(now: at(1_000))
        #expect(again.acquisitionWanted(now: at(1_050)) == [], "an acquire overtaking the release would be deleted by it")
        #expect(again.releaseCompleted() == [.sendAcquire])
        #expect(again.acquireSucceeded(sentAt: at(1_100)) == [.leaseGained])

        // Giving up a refused acquisition sends nothing; giving up one in flight releases whatever lands.
        var waiting = Self.lease()
        _ = waiting.acquisitionWanted(now: at(0))
        _ = waiting.acquireRefused(now: at(10))
        #expect(waiting.releaseWanted(now: at(20)) == [])
        #expect(waiting.state == .released)
        var inFlight = Self.lease()
        _ = inFlight.acquisitionWanted(now: at(0))
        #expect(inFlight.releaseWanted(now: at(20)) == [.sendRelease])
        #expect(inFlight.releaseCompleted() == [])
        #expect(inFlight.acquireSucceeded(sentAt: at(0)) == [.sendRelease], "the acquire landed after the release")
        #expect(inFlight.state == .releasing && !inFlight.isHeld)
    }

    @Test("releasing an expired lease reports the loss first")
    func releaseAfterExpiry() {
        var lease = Self.held()
        #expect(lease.releaseWanted(now: at(9_000)) == [.leaseLost(reason: .expired(validUntil: at(9_000), renewalInFlight: false))])
        #expect(lease.state == .released)
    }
}
