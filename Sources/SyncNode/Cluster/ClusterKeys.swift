/// The Redis keys and channel of one cluster, namespaced by its id so clusters can share a Redis.
struct ClusterKeys: Sendable {
    let clusterID: String

    var membershipChannel: String { "sync:\(clusterID):membership" }
    var memberPattern: String { "sync:\(clusterID):member:*" }
    var leader: String { "sync:\(clusterID):leader" }
    func member(_ nodeID: String) -> String { "sync:\(clusterID):member:\(nodeID)" }
    func shard(_ shard: Int) -> String { "sync:\(clusterID):shard:\(shard)" }
}

/// Lua scripts run atomically by Redis. A lease's value is its holder's token (`node/incarnation`), so
/// a restarted node (new incarnation) never mistakes its predecessor's lease for its own.
enum LeaseScripts {
    /// Takes the lease if nobody holds it, or extends it if we already do. 1 = held, 0 = someone else's.
    static let claim = """
        local current = redis.call('GET', KEYS[1])
        if current == false or current == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        return 0
        """

    /// Renews many leases in one round trip: per key 1 = still ours (extended), 0 = someone else's.
    /// A missing key (Redis restarted or flushed) is re-taken: nobody else can have written under it
    /// since, because any writer would first have had to take the lease and bump the Postgres epoch,
    /// which this node would then see as a failed commit.
    static let renewMany = """
        local result = {}
        for i, key in ipairs(KEYS) do
          local current = redis.call('GET', key)
          if current == ARGV[1] then
            redis.call('PEXPIRE', key, ARGV[2])
            result[i] = 1
          elseif current == false then
            redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
            result[i] = 1
          else
            result[i] = 0
          end
        end
        return result
        """

    /// Deletes the lease only if it is still ours.
    static let release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """
}
