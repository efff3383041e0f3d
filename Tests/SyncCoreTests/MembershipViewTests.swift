import Testing
@testable import SyncCore

@Suite("Membership view")
struct MembershipViewTests {
    static let ttl: Int64 = 3_000

    static func member(_ id: String, _ incarnation: Int64, port: Int = 7_000) -> MemberInfo {
        MemberInfo(nodeID: id, incarnation: incarnation, clusterHost: "10.0.0.\(id.count)", clusterPort: port, adminURL: "http://\(id):8080")
    }

    @Test("join, heartbeat, leave and expiry")
    func lifecycle() {
        var view = MembershipView(memberTTLMilliseconds: Self.ttl)
        let a = Self.member("a", 100), b = Self.member("b", 200), c = Self.member("c", 300)
        #expect(view.joinAnnounced(b, at: at(0)) == [.joined(b)])
        #expect(view.heartbeatSeen(a, at: at(10)) == [.joined(a)])
        #expect(view.heartbeatSeen(c, at: at(20)) == [.joined(c)])
        #expect(view.heartbeatSeen(a, at: at(1_000)) == [], "a heartbeat of a live member changes nothing")
        #expect(view.joinAnnounced(a, at: at(1_100)) == [], "nor does a repeated join")
        #expect(view.liveNodeIDs == ["a", "b", "c"])
        #expect(view.members == [a, b, c])
        #expect(view.member("b") == b)

        #expect(view.leaveAnnounced(nodeID: "b", incarnation: 200, at: at(1_200)) == [.left(b)])
        #expect(view.member("b") == nil)
        #expect(view.leaveAnnounced(nodeID: "b", incarnation: 200, at: at(1_300)) == [], "a repeated leave changes nothing")

        #expect(view.clockTicked(at(2_999)) == [])
        #expect(view.clockTicked(at(3_020)) == [.left(c)], "c was last seen at 20: gone after the TTL")
        #expect(view.clockTicked(at(4_099)) == [])
        #expect(view.clockTicked(at(4_100)) == [.left(a)], "a was last seen at 1_100")
        #expect(view.liveNodeIDs.isEmpty)
    }

    @Test("a node restarted with the same id: higher incarnation restarts, late messages of the old one are ignored")
    func rejoinWithSameID() {
        var view = MembershipView(memberTTLMilliseconds: Self.ttl)
        let old = Self.member("a", 1_000), new = Self.member("a", 5_000, port: 7_001)
        #expect(view.joinAnnounced(old, at: at(0)) == [.joined(old)])
        #expect(view.joinAnnounced(new, at: at(100)) == [.restarted(old: old, new: new)])
        // The old incarnation's leave, delayed on the channel, must not remove the new one.
        #expect(view.leaveAnnounced(nodeID: "a", incarnation: 1_000, at: at(150)) == [])
        #expect(view.member("a") == new)
        // Nor may its last heartbeat bring it back.
        #expect(view.heartbeatSeen(old, at: at(200)) == [])
        #expect(view.snapshotTaken([old], at: at(250)) == [], "a stale key in a scan neither restarts nor removes a")
        #expect(view.member("a") == new)
        #expect(view.leaveAnnounced(nodeID: "a", incarnation: 5_000, at: at(300)) == [.left(new)])
        #expect(view.liveNodeIDs.isEmpty)
    }

    @Test("a leave is a tombstone: a late heartbeat or join of that incarnation is ignored, a higher one joins")
    func tombstone() {
        var view = MembershipView(memberTTLMilliseconds: Self.ttl)
        let first = Self.member("a", 1), second = Self.member("a", 2)
        _ = view.joinAnnounced(first, at: at(0))
        #expect(view.leaveAnnounced(nodeID: "a", incarnation: 1, at: at(100)) == [.left(first)])
        #expect(view.heartbeatSeen(first, at: at(150)) == [])
        #expect(view.joinAnnounced(first, at: at(160)) == [])
        #expect(view.snapshotTaken([first], at: at(170)) == [], "the key of a leaving node may outlive its leave")
        #expect(view.liveNodeIDs.isEmpty)
        #expect(view.heartbeatSeen(second, at: at(200)) == [.joined(second)])

        // A leave delivered before the join (pub/sub versus key scan): the join stays ignored.
        let early = Self.member("e", 9)
        #expect(view.leaveAnnounced(nodeID: "e", incarnation: 9, at: at(300)) == [])
        #expect(view.joinAnnounced(early, at: at(310)) == [])
        #expect(view.member("e") == nil)

        // A leave of a newer incarnation than the one known ends the known one too.
        let c1 = Self.member("c", 1)
        _ = view.heartbeatSeen(c1, at: at(400))
        #expect(view.leaveAnnounced(nodeID: "c", incarnation: 3, at: at(410)) == [.left(c1)])
        #expect(view.heartbeatSeen(Self.member("c", 2), at: at(420)) == [])
    }

    @Test("a flapping member: expiry by TTL is not a tombstone, so the same incarnation rejoins; minimal changes")
    func flapping() {
        var view = MembershipView(memberTTLMilliseconds: Self.ttl)
        let a = Self.member("a", 7), b = Self.member("b", 8)
        var changes: [MembershipChange] = []
        changes += view.heartbeatSeen(b, at: at(0))
        // a beats irregularly but always within the TTL: no change at all.
        for time: Int64 in [0, 900, 2_800, 5_700, 8_600] {
            changes += view.heartbeatSeen(a, at: at(time))
            changes += view.heartbeatSeen(b, at: at(time))
            changes += view.clockTicked(at(time + 50))
        }
        #expect(changes == [.joined(b), .joined(a)])
        // Then a's heartbeats stop (paused, or cut off from Redis) past the TTL, while b goes on.
        for time: Int64 in stride(from: 9_000, through: 12_000, by: 500) {
            changes += view.heartbeatSeen(b, at: at(time))
            changes += view.clockTicked(at(time))
        }
        #expect(changes == [.joined(b), .joined(a), .left(a)], "a expired once, at 8_600 + TTL")
        // a's heartbeats come back with the same incarnation: it rejoins, since an expiry is no
        // tombstone (the process was only slow or cut off). Further beats and a scan change nothing.
        changes += view.heartbeatSeen(a, at: at(12_100))
        changes += view.clockTicked(at(12_200))
        changes += view.heartbeatSeen(a, at: at(12_300))
        changes += view.snapshotTaken([a, b], at: at(12_400))
        #expect(changes == [.joined(b), .joined(a), .left(a), .joined(a)])
        #expect(view.members == [a, b])
    }

    @Test("a full scan is authoritative: absent members leave (no tombstone), newer incarnations restart")
    func snapshot() {
        var view = MembershipView(memberTTLMilliseconds: Self.ttl)
        let a = Self.member("a", 1), b = Self.member("b", 1), c = Self.member("c", 1)
        #expect(view.snapshotTaken([c, a, b, a], at: at(0)) == [.joined(a), .joined(b), .joined(c)])
        let c2 = Self.member("c", 2)
        #expect(view.snapshotTaken([a, c2], at: at(1_000)) == [.restarted(old: c, new: c2), .left(b)])
        // b comes back with the same incarnation: not tombstoned.
        #expect(view.heartbeatSeen(b, at: at(1_100)) == [.joined(b)])
        // A join announced while a scan ran (after the scan started) is not undone by that scan.
        let d = Self.member("d", 1)
        #expect(view.joinAnnounced(d, at: at(2_050)) == [.joined(d)])
        #expect(view.snapshotTaken([a, b, c2], at: at(2_000)) == [])
        #expect(view.liveNodeIDs == ["a", "b", "c", "d"])
        #expect(view.snapshotTaken([a, b, c2], at: at(3_000)) == [.left(d)])
        #expect(view.snapshotTaken([], at: at(4_000)) == [.left(a), .left(b), .left(c2)])
        #expect(view.liveNodeIDs.isEmpty)
    }
}
