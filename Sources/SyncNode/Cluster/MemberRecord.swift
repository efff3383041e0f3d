import SyncCore

/// A member's heartbeat value in Redis and its join/leave announcements on the membership channel.
///
/// Tab-separated rather than JSON: five short fields, parsed on every scan, and node ids are validated
/// to contain no tab.
enum MemberRecord {
    static func encode(_ member: MemberInfo) -> String {
        [member.nodeID, String(member.incarnation), member.clusterHost, String(member.clusterPort), member.adminURL].joined(separator: "\t")
    }

    static func decode(_ text: String) -> MemberInfo? {
        let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5, !fields[0].isEmpty, let incarnation = Int64(fields[1]), let port = Int(fields[3]) else { return nil }
        return MemberInfo(nodeID: fields[0], incarnation: incarnation, clusterHost: fields[2], clusterPort: port, adminURL: fields[4])
    }

    /// `join <record>` or `leave <node>\t<incarnation>`.
    enum Announcement: Equatable {
        case join(MemberInfo)
        case leave(nodeID: String, incarnation: Int64)
    }

    static func encode(_ announcement: Announcement) -> String {
        switch announcement {
        case .join(let member): "join " + encode(member)
        case .leave(let nodeID, let incarnation): "leave \(nodeID)\t\(incarnation)"
        }
    }

    static func decodeAnnouncement(_ text: String) -> Announcement? {
        if text.hasPrefix("join ") {
            return decode(String(text.dropFirst(5))).map(Announcement.join)
        }
        if text.hasPrefix("leave ") {
            let fields = text.dropFirst(6).split(separator: "\t").map(String.init)
            guard fields.count == 2, let incarnation = Int64(fields[1]) else { return nil }
            return .leave(nodeID: fields[0], incarnation: incarnation)
        }
        return nil
    }
}
