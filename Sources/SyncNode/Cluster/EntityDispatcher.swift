import ClusterProtocol
import Logging
import SyncCore
import SyncPostgres
import SyncTransport

/// The leader's side of an entity-sync: sends it to the node that should own the org's shard, and
/// keeps re-sending (to whoever owns it by then) until a node reports the workflow's end.
///
/// Re-sending is always safe: the request's idempotency key is the workflow id, an owner already
/// running it joins that run, and a new owner resumes from the journal, so at most the page in
/// flight at a failover is fetched again.
struct EntityDispatcher: Sendable {
    let nodeID: String
    let engine: SyncEngine
    let agent: ClusterAgent
    let transport: ClusterTransport
    let shardMap: ShardMap
    let logger: Logger
    /// Pause between attempts while ownership settles (a lease expiring, a fence being bumped).
    var retryDelay: Duration = .milliseconds(50)
    var maximumRetryDelay: Duration = .milliseconds(200)

    func dispatch(run: RunRecord, entity: String, term: Int64) async throws -> EntityRunOutcome {
        let workflowID = EntitySyncRunner.workflowID(run: run.id, entity: entity)
        let shard = shardMap.shard(ofOrg: run.orgID)
        var logger = logger
        logger[metadataKey: "sync.run"] = "\(run.id)"
        logger[metadataKey: "sync.entity"] = "\(entity)"
        logger[metadataKey: "sync.shard"] = "\(shard)"
        var delay = retryDelay
        var attempt = 0
        while true {
            try Task.checkCancellation()
            if engine.drainFlag.isSet { throw EntitySyncRunner.Interrupted() }
            guard engine.leadership.term == term else {
                throw JournalError(code: .ownershipLost, workflowID: workflowID, detail: "leader term \(term) ended; the next leader re-dispatches")
            }
            attempt += 1
            let retryReason: String
            if let owner = await agent.desiredOwner(ofShard: shard) {
                if owner.nodeID == nodeID {
                    do {
                        return EntityRunOutcome(try await engine.executeLocally(run, entity))
                    } catch is EntitySyncRunner.Interrupted {
                        if engine.drainFlag.isSet { throw EntitySyncRunner.Interrupted() }
                        retryReason = "handed off here"
                    } catch let error as JournalError where error.code == .ownershipLost {
                        retryReason = "not the owner here yet: \(error.detail)"
                    }
                } else {
                    let request = EntitySyncRequest(correlationID: 0, idempotencyKey: workflowID, runID: run.id.uuidString.lowercased(),
                                                    orgID: run.orgID, entity: entity, leaderTerm: term)
                    let peer = ClusterPeer(nodeID: owner.nodeID, host: owner.clusterHost, port: owner.clusterPort)
                    do {
                        switch try await transport.call(request, to: peer, onProgress: { _, _ in }) {
                        case .completed(.completed(let pages, let rows)):
                            return .completed(pages: pages, rows: rows)
                        case .completed(.failed(let reason)):
                            return .failed(reason: reason)
                        case .refused(let refusal, let detail):
                            retryReason = "\(owner.nodeID) refused (\(refusal)): \(detail)"
                        }
                    } catch let error as TransportError {
                        retryReason = "\(error)"
                    }
                }
            } else {
                retryReason = "no live member to own shard \(shard)"
            }
            if attempt == 1 || attempt % 20 == 0 {
                logger.info("re-dispatching", metadata: ["sync.attempt": "\(attempt)", "sync.reason": "\(retryReason)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, maximumRetryDelay)
        }
    }
}
