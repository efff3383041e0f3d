import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// One delivery attempt, as recorded for `/__sim/webhooks`.
public struct WebhookDeliveryRecord: Sendable, Hashable, Codable {
    public var eventID: String
    public var deliveryID: String
    public var subscriptionID: Int
    public var org: String
    public var name: String
    public var url: String
    public var attempt: Int
    /// The receiver's HTTP status, nil when the connection failed or the delivery was dropped on purpose.
    public var status: Int?
    public var signedCorrectly: Bool
    public var duplicate: Bool
    public var dropped: Bool

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", deliveryID = "delivery_id", subscriptionID = "subscription_id", org, name, url
        case attempt, status, signedCorrectly = "signed_correctly", duplicate, dropped
    }
}

/// Delivers webhook events over HTTP with PCO's envelope, signature, headers and retry schedule.
///
/// Events are queued by ``publish(orgID:mutations:)`` and delivered by ``run()`` (one child task per
/// event, so a slow receiver does not hold up others). The knobs in ``FaultSettings`` add delays,
/// duplicates, drops and wrong signatures.
final class WebhookDispatcher: Sendable {
    struct Job: Sendable {
        var eventID: String
        var eventUUID: String
        var subscription: WebhookSubscription
        var name: String
        var payload: [UInt8]
        var eventTime: Int64
    }

    let subscriptions: Locked<WebhookSubscriptions>
    private let settings: @Sendable () -> FaultSettings
    private let logger: Logger
    private let stream: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let state: Locked<State>

    private struct State {
        var rng: SeededGenerator
        var nextEventID = 5_000_001
        var nextDeliveryID = 9_000_001
        var pending = 0
        var log: [WebhookDeliveryRecord] = []
    }

    init(seed: UInt64, settings: @escaping @Sendable () -> FaultSettings, logger: Logger) {
        self.subscriptions = Locked(WebhookSubscriptions(seed: seed))
        self.settings = settings
        self.logger = logger
        self.state = Locked(State(rng: SeededGenerator(seed: seed, stream: 0x3E3C)))
        (stream, continuation) = AsyncStream.makeStream(of: Job.self)
    }

    /// Queues the events of applied mutations for every matching active subscription.
    func publish(orgID: String, org: SimulatedOrg, mutations: [AppliedMutation]) {
        for mutation in mutations {
            guard let name = WebhookEventNames.name(kind: mutation.kind, action: mutation.change.action) else { continue }
            let subs = subscriptions.withLock { $0.matching(orgID: orgID, name: name) }
            guard !subs.isEmpty else { continue }
            var payload = mutation.payload
            if payload == nil, let id = Int(mutation.change.id) {
                let renderer = DocumentRenderer(data: OrgData(), org: org, baseURL: "https://api.planningcenteronline.com", version: .current)
                payload = renderer.webhookPayload(kind: mutation.kind, record: nil, id: id, destroyed: true, eventTime: mutation.eventTime, idempotencyToken: "")
            }
            for sub in subs {
                let job: Job = state.withLock { s in
                    defer { s.nextEventID += 1; s.pending += 1 }
                    return Job(eventID: String(s.nextEventID), eventUUID: Self.uuid(&s.rng), subscription: sub, name: name,
                               payload: payload ?? [], eventTime: mutation.eventTime)
                }
                continuation.yield(job)
            }
        }
    }

    /// Delivers queued events until ``finish()`` is called.
    func run() async {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await withDiscardingTaskGroup { group in
            for await job in stream {
                group.addTask { await self.deliver(job, client: client) }
            }
        }
        try? await client.shutdown()
    }

    func finish() {
        continuation.finish()
    }

    /// Waits until no delivery is pending (including scheduled retries), at most `timeout` seconds.
    /// Returns the number still pending.
    func flush(timeout: Double) async -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let pending = state.withLock { $0.pending }
            if pending == 0 || Date() >= deadline { return pending }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    func deliveries() -> [WebhookDeliveryRecord] {
        state.withLock { $0.log }
    }

    // MARK: Delivery

    private func deliver(_ job: Job, client: HTTPClient) async {
        defer { state.withLock { $0.pending -= 1 } }
        let knobs = settings()
        if knobs.webhookDelayMs > 0 {
            try? await Task.sleep(nanoseconds: UInt64(knobs.webhookDelayMs * 1_000_000))
        }
        var attempt = 1
        while attempt <= 16, !Task.isCancelled {
            let current = subscriptions.withLock { $0.byID[job.subscription.id] }
            guard let sub = current, sub.active else { return }
            let (wrongSignature, duplicate, drop, deliveryID): (Bool, Bool, Bool, String) = state.withLock { s in
                defer { s.nextDeliveryID += 1 }
                return (s.rng.chance(knobs.webhookWrongSignatureRate), s.rng.chance(knobs.webhookDuplicateRate),
                        s.rng.chance(knobs.webhookDropRate), String(s.nextDeliveryID))
            }
            let body = WebhookEnvelope.body(deliveryID: deliveryID, name: job.name, attempt: attempt, payload: job.payload, orgID: sub.orgID)
            let key = wrongSignature ? sub.authenticitySecret + "-wrong" : sub.authenticitySecret
            let signature = WebhookSignature.sign(body: body, secret: key)
            var record = WebhookDeliveryRecord(
                eventID: job.eventID, deliveryID: deliveryID, subscriptionID: sub.id, org: sub.orgID, name: job.name,
                url: sub.url, attempt: attempt, status: nil, signedCorrectly: !wrongSignature, duplicate: false, dropped: drop
            )
            if drop {
                state.withLock { $0.log.append(record) }
                return
            }
            let status = await post(body: body, signature: signature, job: job, url: sub.url, client: client)
            record.status = status
            state.withLock { $0.log.append(record) }
            if duplicate {
                let again = await post(body: body, signature: signature, job: job, url: sub.url, client: client)
                var copy = record
                copy.status = again
                copy.duplicate = true
                state.withLock { $0.log.append(copy) }
            }
            if let status, (200 ..< 300).contains(status) { return }
            if status == 410 {
                subscriptions.withLock { $0.deactivate(id: sub.id) }
                return
            }
            // PCO retries with a doubling delay: 30 s, 1 m, 2 m, ... up to 16 attempts.
            let delay = knobs.webhookRetryBaseMs * pow(2, Double(attempt - 1)) / 1000
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            attempt += 1
        }
    }

    private func post(body: [UInt8], signature: String, job: Job, url: String, client: HTTPClient) async -> Int? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-PCO-Webhooks-Authenticity", value: signature)
        request.headers.add(name: "X-PCO-Webhooks-Name", value: job.name)
        request.headers.add(name: "X-PCO-Webhooks-Event-ID", value: job.eventID)
        request.headers.add(name: "X-PCO-Webhooks-Event", value: job.eventUUID)
        request.headers.add(name: "X-PCO-Webhooks-Event-Time", value: UTCTime.formatDateTime(job.eventTime))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            logger.debug("webhook delivery failed", metadata: ["sync.org": "\(job.subscription.orgID)", "error": "\(error)"])
            return nil
        }
    }

    private static func uuid(_ rng: inout SeededGenerator) -> String {
        let hex = rng.hexToken(bytes: 16)
        let c = Array(hex)
        return String(c[0 ..< 8]) + "-" + String(c[8 ..< 12]) + "-" + String(c[12 ..< 16]) + "-" + String(c[16 ..< 20]) + "-" + String(c[20 ..< 32])
    }
}
