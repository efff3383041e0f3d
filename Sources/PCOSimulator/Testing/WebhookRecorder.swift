import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A webhook receiver for tests and demos: records every POST it gets and answers a fixed status.
///
/// ```swift
/// let recorder = WebhookRecorder()
/// let url = try await recorder.start()   // subscribe this URL
/// let deliveries = await recorder.waitForDeliveries(count: 1, timeout: 10)
/// ```
public final class WebhookRecorder: Sendable {
    /// One received request.
    public struct Delivery: Sendable {
        /// Header names lower-cased.
        public var headers: [String: String]
        /// The raw body, exactly as received (signatures are over these bytes).
        public var body: [UInt8]
    }

    private let received = Locked<[Delivery]>([])
    private let status = Locked(200)
    private let running = Locked<Task<Void, any Error>?>(nil)
    private let serviceGroup = Locked<ServiceGroup?>(nil)

    public init(status: Int = 200) {
        self.status.withLock { $0 = status }
    }

    /// Changes the status answered from now on (e.g. 500 to make the simulator retry, 410 to unsubscribe).
    public func respond(with status: Int) {
        self.status.withLock { $0 = status }
    }

    /// Starts listening on a free loopback port; returns the URL to subscribe.
    public func start() async throws -> String {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let received = self.received, status = self.status
        var logger = Logger(label: "webhook-recorder")
        logger.logLevel = .warning
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                var buffer = try await request.body.collect(upTo: 16 << 20)
                let body = buffer.readBytes(length: buffer.readableBytes) ?? []
                received.withLock { $0.append(Delivery(headers: headers, body: body)) }
                return Response(status: HTTPResponse.Status(code: status.withLock { $0 }))
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        serviceGroup.withLock { $0 = group }
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        running.withLock { $0 = task }
        for await port in ports { return "http://127.0.0.1:\(port)/webhooks" }
        try await task.value
        throw SimulatorStartError(detail: "the webhook recorder did not start")
    }

    public func deliveries() -> [Delivery] {
        received.withLock { $0 }
    }

    /// Waits until at least `count` deliveries arrived, or `timeout` seconds passed.
    public func waitForDeliveries(count: Int, timeout: Double) async -> [Delivery] {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(timeout * 1000)))
        while ContinuousClock.now < deadline {
            let current = deliveries()
            if current.count >= count { return current }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return deliveries()
    }

    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await running.withLock { $0 }?.value
    }
}
