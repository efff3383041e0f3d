import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The local Planning Center API simulator.
///
/// In a test:
/// ```swift
/// var config = SimulatorConfiguration()
/// config.peoplePerOrg = 120
/// let sim = PCOSimulator(configuration: config)
/// let baseURL = try await sim.start()        // "http://127.0.0.1:54321"
/// defer { Task { await sim.shutdown() } }
/// let org = sim.organizations[0]              // credentials for org "1"
/// ```
/// From the command line, `syncengine pco-sim` calls ``run()``.
public final class PCOSimulator: Sendable {
    let core: SimulatorCore
    private let running = Locked<Task<Void, any Error>?>(nil)
    private let serviceGroup = Locked<ServiceGroup?>(nil)
    private let backgroundTasks = Locked<[Task<Void, Never>]>([])

    public init(configuration: SimulatorConfiguration, clock: any SimulatorClock = SystemSimulatorClock(), logger: Logger = Logger(label: "pco-sim")) {
        core = SimulatorCore(configuration: configuration, clock: clock, logger: logger)
    }

    /// The identities and credentials of the simulated orgs (also served at `/__sim/orgs`).
    public var organizations: [SimulatedOrg] { core.stores.map(\.org) }

    /// The current OAuth token pair of an org (initially one issued at start-up).
    public func currentTokens(org: String) -> OAuthTokenPair? {
        core.oauth.withLock { $0.latestPair[org] }
    }

    /// `http://host:port` once started.
    public var baseURL: String { core.baseURL.withLock { $0 } }

    /// Binds the server and returns its base URL once it accepts connections. Port 0 picks a free port.
    @discardableResult
    public func start() async throws -> String {
        let configuration = core.configuration
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var hbLogger = core.logger
        // Hummingbird's own start-up and shutdown chatter stays out of the simulator's output.
        hbLogger.logLevel = max(core.logger.logLevel, .warning)
        let bridge = HTTPBridge(core: core)
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await bridge.respond(to: request) },
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: hbLogger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: hbLogger))
        serviceGroup.withLock { $0 = group }
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        running.withLock { $0 = task }
        var port: Int?
        for await p in ports {
            port = p
            break
        }
        guard let port else {
            // The server stopped before it was running: surface its error.
            try await task.value
            throw SimulatorStartError(detail: "the HTTP server stopped before it started listening on \(configuration.host):\(configuration.port)")
        }
        let base = "http://\(configuration.host):\(port)"
        core.baseURL.withLock { $0 = base }
        let core = self.core
        let webhooks = Task { await core.webhooks.run() }
        let mutations = Task { await core.runBackgroundMutations() }
        backgroundTasks.withLock { $0 = [webhooks, mutations] }
        return base
    }

    /// Serves (starting first unless ``start()`` was already called) until the task is cancelled or
    /// ``shutdown()`` is called.
    public func run() async throws {
        if running.withLock({ $0 }) == nil { try await start() }
        try await withTaskCancellationHandler {
            try await running.withLock { $0 }?.value
        } onCancel: {
            self.stopTasks()
        }
    }

    /// Stops the server (gracefully: open requests finish), webhook deliveries and background mutations.
    public func shutdown() async {
        core.webhooks.finish()
        for task in backgroundTasks.withLock({ $0 }) { task.cancel() }
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await running.withLock { $0 }?.value
    }

    private func stopTasks() {
        core.webhooks.finish()
        for task in backgroundTasks.withLock({ $0 }) { task.cancel() }
        running.withLock { $0 }?.cancel()
    }
}

/// The simulator could not start serving.
public struct SimulatorStartError: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { "pco-sim failed to start: \(detail)" }
}
