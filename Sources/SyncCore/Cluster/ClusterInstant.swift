/// A point in time on one node's monotonic clock, in milliseconds.
///
/// Only comparable with instants of the same node: each node's clock has its own origin, so an
/// instant never travels to another node (STYLE rule 3). Across nodes the authority is Redis's TTL
/// and the Postgres fence epoch, never a comparison of two nodes' clocks.
public struct ClusterInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// This instant moved by `delta` milliseconds (negative moves back).
    public func advanced(byMilliseconds delta: Int64) -> ClusterInstant {
        ClusterInstant(milliseconds: milliseconds + delta)
    }

    /// Milliseconds from `earlier` to this instant (negative when `earlier` is later).
    public func milliseconds(since earlier: ClusterInstant) -> Int64 {
        milliseconds - earlier.milliseconds
    }

    public static func < (lhs: ClusterInstant, rhs: ClusterInstant) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    public var description: String { "\(milliseconds)ms" }
}
