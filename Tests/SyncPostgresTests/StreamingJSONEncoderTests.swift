import Foundation
import SyncCore
import Testing
@testable import SyncPostgres

/// `StreamingJSONEncoder` writes what `JSONEncoder` would mean: the same value comes back through
/// `JSONDecoder`, and the same JSON object through `JSONSerialization`.
@Suite("StreamingJSONEncoder")
struct StreamingJSONEncoderTests {
    static let plan: EntitySyncPlan = {
        var plan = EntitySyncPlan(
            entity: "HouseholdMembership", strategy: .full,
            phases: [.pass, .delta(since: UTCTimestamp(secondsSinceEpoch: 1_700_000_000), method: .updatedAtFilter), .reconcile],
            parentIDs: ["1", "2", "3"], runStartedAt: UTCTimestamp(secondsSinceEpoch: 1_700_000_100), perPage: 100,
            completionWatermark: nil)
        plan.partitions = 4
        return plan
    }()

    static let page = PageStepRecord(
        request: EntitySyncCursor(phaseIndex: 1, parentIndex: 2, offset: 9_900),
        next: EntitySyncCursor(offset: 10_000, previousPageIDs: (0..<100).map { String(100_000 + $0) }, stepBacks: 1),
        fetched: 100, rowsWritten: 340, counters: RequestCounters(requests: 3, rateLimited: 1, retries: 1), totalCount: nil)

    /// Every kind of journal record the engine writes.
    static let entitySteps: [EntityStep] = [
        .planned(plan), .page(page),
        .partitionsCompleted(PartitionSummary(partitions: 4, pages: 12, fetched: 1_100, rowsWritten: 2_200, counters: RequestCounters(requests: 12))),
        .reconciled(softDeleted: 7), .completed(watermark: UTCTimestamp(secondsSinceEpoch: 1_700_000_000)), .completed(watermark: nil),
        .failed(reason: "PCO said \"no\" \\ twice\n\ttab, control \u{01}, unicode é 漢 👋"),
    ]
    static let orchestratorEvents: [Orchestrator.Event] = [
        .dispatched(entity: "Person"), .entityCompleted(entity: "Email"), .entityFailed(entity: "Group", reason: "401: token revoked"),
    ]

    static func jsonObject(_ data: Data) throws -> NSObject {
        try #require(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? NSObject)
    }

    static func expectSameAsJSONEncoder<Value: Codable & Equatable>(_ value: Value) throws {
        let streamed = Data(try StreamingJSONEncoder.encode(value))
        #expect(try JSONDecoder().decode(Value.self, from: streamed) == value, "\(String(decoding: streamed, as: UTF8.self))")
        #expect(try jsonObject(streamed) == jsonObject(try JSONEncoder().encode(value)))
    }

    @Test("every journal record decodes back to itself and means what JSONEncoder's output means")
    func journalRecords() throws {
        for step in Self.entitySteps { try Self.expectSameAsJSONEncoder(step) }
        for event in Self.orchestratorEvents { try Self.expectSameAsJSONEncoder(event) }
    }

    @Test("scalars, optionals, nested collections and dictionaries")
    func shapes() throws {
        struct Shape: Codable, Equatable {
            var int: Int = -42
            var int64: Int64 = .max
            var uint8: UInt8 = 255
            var double: Double = 0.1
            var tiny: Double = 1e-7
            var whole: Double = 3
            var float: Float = 2.5
            var flag = true
            var none: String? = nil
            var some: Int? = 5
            var grid: [[Int]] = [[1, 2], [], [3]]
            var names: [String: Int] = ["a": 1, "b\"": 2]
            var empty: [String] = []
            var nested: [Shape]? = nil
        }
        var shape = Shape()
        shape.nested = [Shape(), Shape(int: 0, double: -123.456e10, flag: false)]
        try Self.expectSameAsJSONEncoder(shape)
        try Self.expectSameAsJSONEncoder(["top", "level"])
        try Self.expectSameAsJSONEncoder("a lone string")
        try Self.expectSameAsJSONEncoder(17)
    }

    @Test("a value that encodes nothing is an empty object, as JSONEncoder writes it")
    func emptyValue() throws {
        struct Nothing: Codable, Equatable {}
        #expect(try StreamingJSONEncoder.encode(Nothing()) == Array("{}".utf8))
        try Self.expectSameAsJSONEncoder([Nothing(), Nothing()])
    }

    @Test("a number JSON cannot hold is an error, not text")
    func nonFinite() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder.encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder.encode([Double.infinity]) }
    }

    @Test("what it does not stream is refused, and SerializedJSONEncoder then writes it with JSONEncoder")
    func refusedFallsBack() throws {
        struct WithDate: Codable, Equatable { var at = Date(timeIntervalSince1970: 1_700_000_000); var blob = Data([1, 2, 3]) }
        #expect(throws: StreamingJSONEncoder.Unsupported.self) { try StreamingJSONEncoder.encode(WithDate()) }
        #expect(try JSONDecoder().decode(WithDate.self, from: try SerializedJSONEncoder.encode(WithDate())) == WithDate())

        class Base: Codable { var base = 1 }
        final class Derived: Base, @unchecked Sendable {
            var derived = 2
            override init() { super.init() }
            required init(from decoder: any Decoder) throws { try super.init(from: decoder) }
            override func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(derived, forKey: .derived)
                try super.encode(to: container.superEncoder())
            }
            enum CodingKeys: String, CodingKey { case derived }
        }
        #expect(throws: StreamingJSONEncoder.Unsupported.self) { try StreamingJSONEncoder.encode(Derived()) }
        let fallback = try Self.jsonObject(try SerializedJSONEncoder.encode(Derived()))
        #expect(fallback == (["derived": 2, "super": ["base": 1]] as NSDictionary))
    }

    @Test("writing to a container after a later sibling was opened is refused, not written out of order")
    func outOfOrderRefused() {
        struct Interleaved: Encodable {
            enum Key: String, CodingKey { case first, second, late }
            func encode(to encoder: any Encoder) throws {
                var top = encoder.container(keyedBy: Key.self)
                var first = top.nestedContainer(keyedBy: Key.self, forKey: .first)
                var second = top.nestedUnkeyedContainer(forKey: .second)
                try second.encode(1)
                try first.encode(2, forKey: .late)
            }
        }
        #expect(throws: StreamingJSONEncoder.Unsupported.self) { try StreamingJSONEncoder.encode(Interleaved()) }
    }
}
