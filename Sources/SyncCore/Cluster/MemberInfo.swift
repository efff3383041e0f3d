/// One node as the membership registry knows it: who it is, which run of the process, and where to
/// reach it.
public struct MemberInfo: Sendable, Hashable {
    /// The node's configured id; stable across restarts.
    public var nodeID: String
    /// Which run of the process this is: a node restarted with the same id has a higher one (the shell
    /// uses its start time in milliseconds). Messages of an older incarnation are stale.
    public var incarnation: Int64
    /// Where the node accepts cluster (node-to-node) connections.
    public var clusterHost: String
    public var clusterPort: Int
    /// The base URL of the node's admin HTTP API.
    public var adminURL: String

    public init(nodeID: String, incarnation: Int64, clusterHost: String, clusterPort: Int, adminURL: String) {
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.clusterHost = clusterHost
        self.clusterPort = clusterPort
        self.adminURL = adminURL
    }
}
