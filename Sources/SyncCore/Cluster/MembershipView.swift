/// What changed in the membership, as reported by `MembershipView`'s events.
public enum MembershipChange: Sendable, Hashable {
    /// A node id that was not a member is one now.
    case joined(MemberInfo)
    /// A member is gone: it announced its leave, it was absent from a full scan, or it was not seen
    /// for the member TTL.
    case left(MemberInfo)
    /// A member was replaced by a newer incarnation of the same node id (the process restarted).
    case restarted(old: MemberInfo, new: MemberInfo)
}

/// One node's view of the cluster membership, as a value-type state machine without I/O.
///
/// The shell feeds it what it saw in Redis (heartbeat keys, a full scan of them, join and leave
/// announcements on pub/sub) and the passing of time; every event returns the membership changes it
/// caused, so the shell can rebalance shards once per change.
///
/// Per node id, a member is either absent or present with one incarnation:
/// - absent -> present: a heartbeat, join or scan of an incarnation not below what is known of that id
///   and not tombstoned (`.joined`).
/// - present -> present with a higher incarnation: the node restarted (`.restarted`); messages of a
///   lower incarnation are stale and ignored.
/// - present -> absent by a leave announcement (`.left`): the incarnation becomes a tombstone, so a
///   late heartbeat or join of that incarnation cannot resurrect it; only a higher one joins.
/// - present -> absent by expiry (not seen for the member TTL) or by absence from a full scan
///   (`.left`): NOT a tombstone. The process may only have been slow or cut off, and when its
///   heartbeats come back with the same incarnation it rejoins (a flapping member yields
///   left/joined pairs, never a stuck ghost or a permanent exclusion).
public struct MembershipView: Sendable, Hashable {
    private struct Entry: Sendable, Hashable {
        var info: MemberInfo
        var lastSeen: ClusterInstant
    }

    /// The newest incarnation ever accepted or announced as left for one node id. One small record per
    /// node id ever seen: ids are configured names, so this stays small.
    private struct Floor: Sendable, Hashable {
        var incarnation: Int64
        var left: Bool
    }

    /// A member not seen for this long has left.
    public let memberTTLMilliseconds: Int64
    private var entries: [String: Entry] = [:]
    private var floors: [String: Floor] = [:]

    public init(memberTTLMilliseconds: Int64) {
        precondition(memberTTLMilliseconds > 0, "memberTTLMilliseconds must be positive, got \(memberTTLMilliseconds)")
        self.memberTTLMilliseconds = memberTTLMilliseconds
    }

    // MARK: Events

    /// The member's heartbeat key was read (or its heartbeat message arrived).
    public mutating func heartbeatSeen(_ member: MemberInfo, at now: ClusterInstant) -> [MembershipChange] {
        observe(member, at: now)
    }

    /// The member announced its start on the membership channel.
    public mutating func joinAnnounced(_ member: MemberInfo, at now: ClusterInstant) -> [MembershipChange] {
        observe(member, at: now)
    }

    /// The node announced that this incarnation is leaving. Ignored for an incarnation older than the
    /// current one; otherwise the incarnation is tombstoned.
    public mutating func leaveAnnounced(nodeID: String, incarnation: Int64, at now: ClusterInstant) -> [MembershipChange] {
        if let floor = floors[nodeID], incarnation < floor.incarnation { return [] }
        floors[nodeID] = Floor(incarnation: incarnation, left: true)
        guard let entry = entries.removeValue(forKey: nodeID) else { return [] }
        // A leave of a newer incarnation than the one we knew also ends the old one: it is dead.
        return [.left(entry.info)]
    }

    /// A full scan of the heartbeat keys completed. It is authoritative: members absent from it leave
    /// (without a tombstone). `now` must be when the scan was started: a member seen after that (a join
    /// announced while the scan ran) is kept, because the scan could not have seen it.
    public mutating func snapshotTaken(_ members: [MemberInfo], at now: ClusterInstant) -> [MembershipChange] {
        var newest: [String: MemberInfo] = [:]
        for member in members where (newest[member.nodeID]?.incarnation ?? .min) < member.incarnation {
            newest[member.nodeID] = member
        }
        var changes: [MembershipChange] = []
        for id in newest.keys.sorted() {
            changes += observe(newest[id]!, at: now)
        }
        for id in entries.keys.sorted() where newest[id] == nil && entries[id]!.lastSeen < now {
            changes.append(.left(entries.removeValue(forKey: id)!.info))
        }
        return changes
    }

    /// Time passed: members not seen for the member TTL leave (without a tombstone).
    public mutating func clockTicked(_ now: ClusterInstant) -> [MembershipChange] {
        var changes: [MembershipChange] = []
        for id in entries.keys.sorted() where now.milliseconds(since: entries[id]!.lastSeen) >= memberTTLMilliseconds {
            changes.append(.left(entries.removeValue(forKey: id)!.info))
        }
        return changes
    }

    // MARK: Queries

    /// The live members, sorted by node id.
    public var members: [MemberInfo] {
        entries.keys.sorted().map { entries[$0]!.info }
    }

    /// The live members' node ids, sorted.
    public var liveNodeIDs: [String] {
        entries.keys.sorted()
    }

    /// The live member with this node id.
    public func member(_ nodeID: String) -> MemberInfo? {
        entries[nodeID]?.info
    }

    /// When the member with this id was last seen, if it is live.
    public func lastSeen(_ nodeID: String) -> ClusterInstant? {
        entries[nodeID]?.lastSeen
    }

    // MARK: Internals

    private mutating func observe(_ member: MemberInfo, at now: ClusterInstant) -> [MembershipChange] {
        let id = member.nodeID
        if let floor = floors[id] {
            // Older than what we know, or the very incarnation that announced its leave: a late message.
            if member.incarnation < floor.incarnation || (member.incarnation == floor.incarnation && floor.left) {
                return []
            }
        }
        floors[id] = Floor(incarnation: member.incarnation, left: false)
        guard let entry = entries[id] else {
            entries[id] = Entry(info: member, lastSeen: now)
            return [.joined(member)]
        }
        if member.incarnation == entry.info.incarnation {
            // Same incarnation: only liveness moves. An address change within one incarnation is taken
            // silently (a process does not move, but the registry value may be rewritten).
            entries[id] = Entry(info: member, lastSeen: max(entry.lastSeen, now))
            return []
        }
        // The floor check guarantees a higher incarnation here.
        entries[id] = Entry(info: member, lastSeen: now)
        return [.restarted(old: entry.info, new: member)]
    }
}
