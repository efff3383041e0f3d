import ClusterProtocol

/// How a remote entity-sync call ended.
public enum EntitySyncReply: Sendable, Hashable {
    /// The workflow reached a terminal state; record it, do not re-send.
    case completed(EntitySyncOutcome)
    /// The peer did not finish it; re-send (to the shard's owner by then, after a pause).
    case refused(EntitySyncRefusal, detail: String)
}
