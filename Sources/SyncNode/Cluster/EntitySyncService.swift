import ClusterProtocol
import Foundation
import Logging
import SyncCore
import SyncPostgres
import SyncTransport

/// The shard owner's side of an entity-sync: runs the workflow the leader sent (or joins the one
/// already running under the same idempotency key) and reports its end. Anything that keeps it from
/// finishing is a refusal the leader answers by re-sending, to this node or the shard's next owner.
struct EntitySyncService: EntitySyncHandler {
    let engine: SyncEngine
    let journal: JournalStore
    let shardMap: ShardMap
    let logger: Logger

    func handle(_ request: EntitySyncRequest, from peerNodeID: String, reporter: EntitySyncReporter) async {
        var logger = logger
        logger[metadataKey: "sync.run"] = "\(request.runID)"
        logger[metadataKey: "sync.entity"] = "\(request.entity)"
        logger[metadataKey: "sync.leader"] = "\(peerNodeID)"
        let shard = shardMap.shard(ofOrg: request.orgID)
        guard engine.work.writableEpoch(ofShard: shard) != nil else {
            reporter.finish(.refused(.notOwner, detail: "shard \(shard) is not writable on this node"))
            return
        }
        guard let runID = UUID(uuidString: request.runID) else {
            reporter.finish(.refused(.unavailable, detail: "run id '\(request.runID)' is not a UUID"))
            return
        }
        do {
            guard let run = try await journal.run(id: runID) else {
                reporter.finish(.refused(.unavailable, detail: "no run \(request.runID) in the journal"))
                return
            }
            reporter.accepted()
            let workflow = try await engine.executeLocally(run, request.entity)
            switch EntityRunOutcome(workflow) {
            case .completed(let pages, let rows): reporter.finish(.completed(.completed(pages: pages, rows: rows)))
            case .failed(let reason): reporter.finish(.completed(.failed(reason: reason)))
            }
        } catch is EntitySyncRunner.Interrupted {
            reporter.finish(.refused(.interrupted, detail: "stopped after the page in flight (handoff or drain)"))
        } catch let error as JournalError where error.code == .ownershipLost {
            logger.warning("lost the shard during the workflow", metadata: ["sync.error": "\(error)"])
            reporter.finish(.refused(.notOwner, detail: error.description))
        } catch is CancellationError {
            reporter.finish(.refused(.interrupted, detail: "cancelled"))
        } catch {
            logger.warning("entity workflow stopped", metadata: ["sync.error": "\(error)"])
            reporter.finish(.refused(.unavailable, detail: "\(error)"))
        }
    }
}
