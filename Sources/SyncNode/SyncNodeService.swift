import Logging
import ServiceLifecycle

/// The node's sync work as a service: keep coordinating the active runs (while this node leads) until
/// a graceful shutdown, which drains (every workflow finishes the page in flight) within the drain
/// timeout. Alone, the node first takes every shard and the leader term; in a cluster the
/// ``ClusterNodeService`` grants them.
public struct SyncNodeService: Service {
    let engine: SyncEngine
    let logger: Logger

    public init(engine: SyncEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    public func run() async throws {
        let standalone = engine.configuration.cluster == nil
        if standalone { try await takeOwnershipWhenPostgresAnswers() }
        let engine = engine
        let configuration = engine.configuration
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { race in
                race.addTask {
                    await withDiscardingTaskGroup { runs in
                        runs.addTask {
                            while !engine.drainFlag.isSet {
                                let budget = await engine.limiters.currentBudget()
                                NodeMetrics.rateBudget(used: budget.used, limit: budget.limit)
                                reportSlowWorkflows(bound: configuration.slowStepWarning)
                                try? await Task.sleep(for: .seconds(2))
                            }
                        }
                        while !engine.drainFlag.isSet {
                            for coordinator in await engine.runsToStart() {
                                runs.addTask { await engine.coordinate(coordinator) }
                            }
                            try? await Task.sleep(for: configuration.pollInterval)
                        }
                    }
                }
                race.addTask {
                    // The drain's deadline: past it, pages still in flight are cancelled (not committed).
                    while !engine.drainFlag.isSet { try? await Task.sleep(for: .milliseconds(100)) }
                    try? await Task.sleep(for: configuration.drainTimeout)
                }
                await race.next()
                race.cancelAll()
            }
        } onGracefulShutdown: {
            engine.drainFlag.set()
        }
        if standalone { await engine.releaseOwnership() }
        logger.info("drained")
    }

    /// The watchdog: a workflow stuck in one phase (a fetch or a commit that never returns) is named
    /// once per phase, with what it waits for.
    private func reportSlowWorkflows(bound: Duration) {
        for entry in engine.activity.takeNewlySlow(bound: bound) {
            NodeMetrics.slowWorkflowStep()
            logger.warning("workflow slow in one phase", metadata: [
                "sync.workflow": "\(entry.workflowID)", "sync.phase": "\(entry.phase)",
                "sync.seconds": "\(Int(entry.secondsInPhase))", "sync.shard": "\(entry.shard.map(String.init) ?? "-")",
                "sync.epoch": "\(entry.epoch.map(String.init) ?? "-")",
            ])
        }
    }

    private func takeOwnershipWhenPostgresAnswers() async throws {
        var attempt = 0
        while true {
            do {
                try await engine.takeOwnership()
                return
            } catch {
                attempt += 1
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("cannot take ownership yet", metadata: ["sync.error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(min(5000, 200 * attempt)))
            }
        }
    }
}
