/// The terminal state the entity-sync workflow reached. Both cases are final: the leader records
/// them and does not re-send.
public enum EntitySyncOutcome: Sendable, Hashable {
    case completed(pages: Int64, rows: Int64)
    case failed(reason: String)
}
