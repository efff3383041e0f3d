/// The type byte of a frame. Numbered in groups (handshake 1…, entity sync 16…, liveness 32…) so a
/// new message finds a free number next to its relatives.
public enum ClusterMessageType: UInt8, Sendable, CaseIterable {
    case hello = 1
    case helloAccept = 2
    case helloReject = 3
    case entitySyncRequest = 16
    case entitySyncAccepted = 17
    case entitySyncProgress = 18
    case entitySyncCompleted = 19
    case entitySyncFailed = 20
    case cancel = 21
    case ping = 32
    case pong = 33
}
