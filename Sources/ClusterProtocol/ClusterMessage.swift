/// Every message two nodes exchange. One frame carries one message; `type` is its frame type byte.
public enum ClusterMessage: Sendable, Hashable {
    case hello(Hello)
    case helloAccept(HelloAccept)
    case helloReject(HelloReject)
    case entitySyncRequest(EntitySyncRequest)
    case entitySyncAccepted(correlationID: UInt64)
    case entitySyncProgress(correlationID: UInt64, pages: Int64, rows: Int64)
    case entitySyncCompleted(correlationID: UInt64, outcome: EntitySyncOutcome)
    case entitySyncFailed(correlationID: UInt64, refusal: EntitySyncRefusal, detail: String)
    case cancel(correlationID: UInt64)
    case ping(UInt64)
    case pong(UInt64)

    public var type: ClusterMessageType {
        switch self {
        case .hello: .hello
        case .helloAccept: .helloAccept
        case .helloReject: .helloReject
        case .entitySyncRequest: .entitySyncRequest
        case .entitySyncAccepted: .entitySyncAccepted
        case .entitySyncProgress: .entitySyncProgress
        case .entitySyncCompleted: .entitySyncCompleted
        case .entitySyncFailed: .entitySyncFailed
        case .cancel: .cancel
        case .ping: .ping
        case .pong: .pong
        }
    }
}
