import Crypto
import Foundation
import Testing
import PCOSimulator

/// Subscriptions, PCO's EventDelivery envelope, and HMAC-SHA256 signatures over the raw body.
@Suite struct WebhookTests {
    @Test func deliveriesAreSignedWithTheSubscriptionSecret() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 20 }
        defer { Task { await sim.stop() } }
        let recorder = WebhookRecorder()
        let url = try await recorder.start()
        defer { Task { await recorder.shutdown() } }

        let subscribe = try await sim.request(.POST, "/webhooks/v2/subscriptions", authorization: sim.basicAuth(), body: Array(try JSONSerialization.data(withJSONObject: [
            "data": ["type": "Subscription", "attributes": ["name": "people.v2.events.person.updated", "url": url, "active": true]],
        ])))
        #expect(subscribe.status == 201)
        let attributes = (subscribe.object["data"] as? [String: Any])?["attributes"] as? [String: Any] ?? [:]
        let secret = try #require(attributes["authenticity_secret"] as? String)

        let changes = try await sim.mutate([["op": "update", "type": "Person"]])
        let personID = try #require(changes.first?["id"] as? String)
        let deliveries = await recorder.waitForDeliveries(count: 1, timeout: 10)
        let delivery = try #require(deliveries.first)

        let signature = try #require(delivery.headers["x-pco-webhooks-authenticity"])
        let expected = HMAC<SHA256>.authenticationCode(for: delivery.body, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        #expect(signature == expected, "verifies with the subscription's secret")
        let other = HMAC<SHA256>.authenticationCode(for: delivery.body, using: SymmetricKey(data: Array("another-secret".utf8)))
            .map { String(format: "%02x", $0) }.joined()
        #expect(signature != other, "fails with another secret")
        #expect(delivery.headers["x-pco-webhooks-name"] == "people.v2.events.person.updated")

        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        let event = try #require((envelope["data"] as? [[String: Any]])?.first)
        #expect(event["type"] as? String == "EventDelivery")
        let eventAttributes = try #require(event["attributes"] as? [String: Any])
        #expect(eventAttributes["attempt"] as? Int == 1)
        let payloadText = try #require(eventAttributes["payload"] as? String, "payload is a JSON string")
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(payloadText.utf8)) as? [String: Any])
        #expect((payload["data"] as? [String: Any])?["id"] as? String == personID)
        #expect(((event["relationships"] as? [String: Any])?["organization"] as? [String: Any])?["data"] as? [String: String] == ["type": "Organization", "id": "1"])
    }

    @Test func wrongSignatureKnobSignsWithAnotherKey() async throws {
        let sim = try await SimulatorHarness.start { config in
            config.peoplePerOrg = 20
            config.faults.webhookWrongSignatureRate = 1
        }
        defer { Task { await sim.stop() } }
        let recorder = WebhookRecorder()
        let url = try await recorder.start()
        defer { Task { await recorder.shutdown() } }
        let subscribe = try await sim.request(.POST, "/webhooks/v2/webhook_subscriptions", authorization: sim.basicAuth(), body: Array(try JSONSerialization.data(withJSONObject: [
            "data": ["attributes": ["name": "people.v2.events.email.created", "url": url]],
        ])))
        let secret = try #require(((subscribe.object["data"] as? [String: Any])?["attributes"] as? [String: Any])?["authenticity_secret"] as? String)
        try await sim.mutate([["op": "create", "type": "Email"]])
        let delivery = try #require(await recorder.waitForDeliveries(count: 1, timeout: 10).first)
        #expect(!WebhookSignature.verify(body: delivery.body, secret: secret, signature: delivery.headers["x-pco-webhooks-authenticity"] ?? ""))
    }
}
