/// The leader asks a shard owner to run (or join) one entity-sync workflow.
public struct EntitySyncRequest: Sendable, Hashable {
    /// Matches the replies to this request on a connection. `ClusterTransport` assigns it; any value
    /// a caller puts here is replaced.
    public var correlationID: UInt64
    /// Run id + entity: a re-sent request with the same key joins the workflow instead of starting a
    /// second one, which is what makes re-dispatch after a failover harmless.
    public var idempotencyKey: String
    public var runID: String
    public var orgID: String
    public var entity: String
    /// The sender's leadership term, so an owner can refuse a deposed leader (`.staleLeader`).
    public var leaderTerm: Int64

    public init(correlationID: UInt64, idempotencyKey: String, runID: String, orgID: String, entity: String, leaderTerm: Int64) {
        self.correlationID = correlationID
        self.idempotencyKey = idempotencyKey
        self.runID = runID
        self.orgID = orgID
        self.entity = entity
        self.leaderTerm = leaderTerm
    }
}
