import Synchronization
import Testing
@testable import SyncNode

@Suite("Workflow activity board and slow-step watchdog")
struct WorkflowActivityTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let instant = Mutex(ContinuousClock.now)
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
        var now: ContinuousClock.Instant { instant.withLock { $0 } }
    }

    @Test("a workflow is listed with its phase and time in it, by shard, until it ends")
    func snapshot() {
        let clock = ManualClock()
        let board = WorkflowActivity(now: { clock.now })
        let person = board.began("run/a/Person", shard: 3, epoch: 7)
        let email = board.began("run/b/Email", shard: 4, epoch: 2)
        board.entered("fetching offset 100 (step 1)", person)
        clock.advance(.seconds(5))
        board.entered("committing page step 1 (100 records)", email)
        clock.advance(.seconds(2))

        let all = board.snapshot()
        #expect(all.map(\.workflowID) == ["run/a/Person", "run/b/Email"], "longest in its phase first")
        #expect(all[0].phase == "fetching offset 100 (step 1)" && all[0].secondsInPhase == 7)
        #expect(all[1].secondsInPhase == 2 && all[1].epoch == 2)
        #expect(board.snapshot(shard: 4).map(\.workflowID) == ["run/b/Email"])

        board.ended(person)
        #expect(board.snapshot().map(\.workflowID) == ["run/b/Email"])
        board.entered("completing (step 9)", person)
        #expect(board.snapshot().count == 1, "a phase of an ended workflow does not bring it back")
    }

    @Test("a workflow started again under the same id while the first still hangs has two entries; the first ending leaves the second")
    func sameWorkflowTwice() {
        let clock = ManualClock()
        let board = WorkflowActivity(now: { clock.now })
        let hung = board.began("run/a/Person", shard: 3, epoch: 7)
        board.entered("committing page step 4 (100 records)", hung)
        clock.advance(.seconds(20))
        let resumed = board.began("run/a/Person", shard: 3, epoch: 8)
        #expect(board.snapshot().map(\.epoch) == [7, 8])
        board.ended(hung)
        #expect(board.snapshot().map(\.epoch) == [8])
        board.ended(resumed)
        #expect(board.snapshot().isEmpty)
    }

    @Test("the watchdog names a workflow once per phase, when the phase outlasts the bound")
    func slowOncePerPhase() {
        let clock = ManualClock()
        let board = WorkflowActivity(now: { clock.now })
        let person = board.began("run/a/Person", shard: 3, epoch: 7)
        board.entered("committing page step 4 (100 records)", person)
        clock.advance(.seconds(59))
        #expect(board.takeNewlySlow(bound: .seconds(60)).isEmpty)
        clock.advance(.seconds(2))
        let slow = board.takeNewlySlow(bound: .seconds(60))
        #expect(slow.map(\.phase) == ["committing page step 4 (100 records)"])
        clock.advance(.seconds(120))
        #expect(board.takeNewlySlow(bound: .seconds(60)).isEmpty, "already reported for this phase")
        board.entered("committing page step 5 (100 records)", person)
        clock.advance(.seconds(61))
        #expect(board.takeNewlySlow(bound: .seconds(60)).map(\.phase) == ["committing page step 5 (100 records)"])
        board.entered("waiting for 8 partition workflows (step 6)", person, watched: false)
        clock.advance(.seconds(600))
        #expect(board.takeNewlySlow(bound: .seconds(60)).isEmpty, "a parent waiting on its partitions is not slow")
    }
}
