import Synchronization

/// The leader term this node currently holds, if any: set by the cluster agent (or, alone, at start),
/// read synchronously by the orchestrators, which stop dispatching the moment it changes.
public final class Leadership: Sendable {
    private let state = Mutex<Int64?>(nil)

    public init() {}

    public var term: Int64? { state.withLock { $0 } }

    func begin(term: Int64) { state.withLock { $0 = term } }
    func end() { state.withLock { $0 = nil } }
}
