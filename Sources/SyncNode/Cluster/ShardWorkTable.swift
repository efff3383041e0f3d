import Synchronization

/// What the workflows of this node may do on each shard right now, readable synchronously from any
/// thread (a workflow checks it between pages), and how many workflows are in flight per shard (the
/// cluster agent waits for zero before it releases a shard it hands off).
///
/// The cluster agent is the only writer of the permissions; workflows only read them and count
/// themselves in and out.
public final class ShardWorkTable: Sendable {
    public enum Permission: Sendable, Hashable {
        /// Owned under this fence epoch: start work, commit pages.
        case writable(epoch: Int64)
        /// Being handed off: finish the page in flight, start nothing new.
        case finishing(epoch: Int64)
    }

    private struct State {
        var permissions: [Int: Permission] = [:]
        var inFlight: [Int: Int] = [:]
    }

    private let state = Mutex(State())
    private let fencedHandler = Mutex<(@Sendable (Int, Int64) -> Void)?>(nil)

    public init() {}

    /// A commit under `epoch` was rejected by the shard's fence: the owner of the permissions (the
    /// cluster agent) must stop trusting that epoch.
    func reportFenced(shard: Int, epoch: Int64) {
        let handler = fencedHandler.withLock { $0 }
        handler?(shard, epoch)
    }

    func onFenced(_ handler: @escaping @Sendable (Int, Int64) -> Void) { fencedHandler.withLock { $0 = handler } }

    public func permission(ofShard shard: Int) -> Permission? { state.withLock { $0.permissions[shard] } }

    /// The epoch under which new work on the shard may start, or nil.
    public func writableEpoch(ofShard shard: Int) -> Int64? {
        state.withLock {
            if case .writable(let epoch) = $0.permissions[shard] { return epoch }
            return nil
        }
    }

    /// Whether a workflow started under `epoch` may go on to its next page.
    public func mayContinue(shard: Int, epoch: Int64) -> Bool { writableEpoch(ofShard: shard) == epoch }

    func grant(_ permission: Permission, shard: Int) { state.withLock { $0.permissions[shard] = permission } }
    func revoke(shard: Int) { state.withLock { _ = $0.permissions.removeValue(forKey: shard) } }
    func revokeAll() { state.withLock { $0.permissions.removeAll() } }

    public var ownedShards: [Int: Permission] { state.withLock { $0.permissions } }

    func enter(shard: Int) { state.withLock { $0.inFlight[shard, default: 0] += 1 } }
    func leave(shard: Int) {
        state.withLock {
            let remaining = $0.inFlight[shard, default: 0] - 1
            precondition(remaining >= 0, "workflow count of shard \(shard) went negative")
            $0.inFlight[shard] = remaining == 0 ? nil : remaining
        }
    }

    public func inFlight(onShard shard: Int) -> Int { state.withLock { $0.inFlight[shard, default: 0] } }
}
