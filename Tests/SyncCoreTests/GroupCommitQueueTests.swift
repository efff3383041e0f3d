import SyncCore
import Testing

@Suite("GroupCommitQueue: which journal commits leave together")
struct GroupCommitQueueTests {
    typealias Queue = GroupCommitQueue<Int>

    @Test("a commit that finds a free slot leaves at once, alone")
    func freeSlotSendsAtOnce() {
        var queue = Queue(maximumInFlight: 2, maximumBatch: 8)
        #expect(queue.submit(1, conflictKey: nil) == .send([1]))
        #expect(queue.submit(2, conflictKey: nil) == .send([2]))
        #expect(queue.inFlight == 2)
    }

    @Test("commits arriving while every slot is busy wait, then leave together in arrival order")
    func busySlotsGather() {
        var queue = Queue(maximumInFlight: 1, maximumBatch: 8)
        #expect(queue.submit(1, conflictKey: nil) == .send([1]))
        for ticket in 2...5 { #expect(queue.submit(ticket, conflictKey: nil) == .wait) }
        #expect(queue.waitingCount == 4)
        #expect(queue.batchFinished() == .send([2, 3, 4, 5]))
        #expect(queue.waitingCount == 0)
        #expect(queue.batchFinished() == .wait)
        #expect(queue.inFlight == 0)
    }

    @Test("a batch carries at most maximumBatch commits; the rest go next")
    func batchSizeBound() {
        var queue = Queue(maximumInFlight: 1, maximumBatch: 3)
        _ = queue.submit(0, conflictKey: nil)
        for ticket in 1...7 { _ = queue.submit(ticket, conflictKey: nil) }
        #expect(queue.batchFinished() == .send([1, 2, 3]))
        #expect(queue.batchFinished() == .send([4, 5, 6]))
        #expect(queue.batchFinished() == .send([7]))
    }

    @Test("two commits with the same conflict key never share a batch, and the later one keeps its place")
    func conflictKeysSplit() {
        var queue = Queue(maximumInFlight: 1, maximumBatch: 8)
        _ = queue.submit(0, conflictKey: nil)
        _ = queue.submit(1, conflictKey: "cursor/People")
        _ = queue.submit(2, conflictKey: "cursor/People")
        _ = queue.submit(3, conflictKey: nil)
        _ = queue.submit(4, conflictKey: "cursor/Email")
        _ = queue.submit(5, conflictKey: "cursor/People")
        #expect(queue.batchFinished() == .send([1, 3, 4]))
        #expect(queue.batchFinished() == .send([2]))
        #expect(queue.batchFinished() == .send([5]))
    }

    @Test("in flight never exceeds the slots, over a random sequence of arrivals and completions")
    func slotsNeverExceeded() {
        var generator = SeededGenerator(seed: 42)
        var queue = Queue(maximumInFlight: 2, maximumBatch: 4)
        var sent: [Int] = []
        var next = 0
        for _ in 0..<2_000 {
            let action: Queue.Action
            if queue.inFlight > 0 && generator.next() % 3 == 0 {
                action = queue.batchFinished()
            } else {
                action = queue.submit(next, conflictKey: generator.next() % 4 == 0 ? "k\(generator.next() % 3)" : nil)
                next += 1
            }
            if case .send(let batch) = action {
                #expect(!batch.isEmpty && batch.count <= 4)
                sent += batch
            }
            #expect(queue.inFlight <= 2)
        }
        while queue.inFlight > 0 {
            if case .send(let batch) = queue.batchFinished() { sent += batch }
        }
        #expect(queue.waitingCount == 0)
        #expect(sent.sorted() == Array(0..<next), "every commit sent exactly once")
    }
}
