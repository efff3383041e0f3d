/// A node to call, as membership knows it. The handshake checks that the node answering at
/// `host:port` really is `nodeID`, so a stale address never delivers a request to the wrong node.
public struct ClusterPeer: Sendable, Hashable, CustomStringConvertible {
    public var nodeID: String
    public var host: String
    public var port: Int

    public init(nodeID: String, host: String, port: Int) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }

    public var description: String { "\(nodeID)@\(host):\(port)" }
}
