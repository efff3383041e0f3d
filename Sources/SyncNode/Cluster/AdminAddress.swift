import Synchronization

/// The admin API's URL once its server is bound (a port of 0 is only known then); the cluster
/// service waits for it before announcing the node, because peers link to it in `status`.
public final class AdminAddress: Sendable {
    private let state = Mutex<String?>(nil)

    public init() {}

    public func bound(_ url: String) { state.withLock { $0 = url } }
    public var url: String? { state.withLock { $0 } }
}
