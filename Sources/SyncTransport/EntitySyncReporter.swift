/// Handed to the handler for one inbound request: how it tells the caller what is happening.
/// Calls after the request finished, was cancelled, or its connection died are no-ops, so a
/// handler never needs to know whether anyone is still listening.
public struct EntitySyncReporter: Sendable {
    public enum Report: Sendable, Hashable {
        case accepted
        case progress(pages: Int64, rows: Int64)
        case finished(EntitySyncReply)
    }

    private let deliver: @Sendable (Report) -> Void

    /// A reporter that hands every report to `deliver`; the transport builds one per request, and a
    /// handler's own tests can build one that records.
    public init(_ deliver: @escaping @Sendable (Report) -> Void) {
        self.deliver = deliver
    }

    /// The request will run (or joined the run already under way).
    public func accepted() { deliver(.accepted) }

    /// Totals so far (not increments).
    public func progress(pages: Int64, rows: Int64) { deliver(.progress(pages: pages, rows: rows)) }

    /// The final word on the request; later reports are dropped.
    public func finish(_ reply: EntitySyncReply) { deliver(.finished(reply)) }
}
