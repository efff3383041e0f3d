import ClusterProtocol

/// The node's side of inbound entity-sync requests.
public protocol EntitySyncHandler: Sendable {
    /// Runs the request (or attaches to the same idempotency key already running) and reports. A
    /// `cancel` frame for its correlation id, the connection dying, or the transport shutting down
    /// cancels the task running this call. Returning without `finish` makes the transport answer
    /// `.refused(.interrupted)`, so the caller never waits on a handler that forgot to reply.
    func handle(_ request: EntitySyncRequest, from peerNodeID: String, reporter: EntitySyncReporter) async
}
