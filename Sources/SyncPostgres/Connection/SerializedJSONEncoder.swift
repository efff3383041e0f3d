import Foundation
import Synchronization

/// JSON for the node's own records: ``StreamingJSONEncoder`` when the value is within what it streams
/// and the options are the defaults, otherwise `JSONEncoder.encode`, one call at a time per process.
///
/// In release builds on Linux (Swift 6.3.1's swift-foundation), two `JSONEncoder` instances encoding on
/// different threads at once crashed the node with bad pointer dereferences inside the encoder
/// (`cluster/bench/e2e-sync`); debug builds never showed it. The node's encodes are small (journal
/// steps, credentials, admin responses), so serialising them costs little. The adapter's hot path
/// writes its JSON without `JSONEncoder` (PlanningCenter's `JSONText`).
public enum SerializedJSONEncoder {
    private static let lock = Mutex(())

    public static func encode<Value: Encodable>(_ value: Value, sortedKeys: Bool = false, iso8601Dates: Bool = false) throws -> Data {
        if !sortedKeys && !iso8601Dates, let bytes = try? StreamingJSONEncoder.encode(value) {
            return Data(bytes)
        }
        return try lock.withLock { _ in
            let encoder = JSONEncoder()
            if sortedKeys { encoder.outputFormatting = [.sortedKeys] }
            if iso8601Dates { encoder.dateEncodingStrategy = .iso8601 }
            return try encoder.encode(value)
        }
    }
}
