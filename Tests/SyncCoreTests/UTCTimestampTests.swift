import Testing
@testable import SyncCore

@Suite("UTC timestamps")
struct UTCTimestampTests {
    @Test("parses PCO timestamps and formats them back", arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)), ("2019-12-09T17:48:20Z", 1_575_913_700), ("2000-02-29T23:59:59Z", 951_868_799),
        ("1969-12-31T23:59:59Z", -1),
    ])
    func roundTrip(text: String, seconds: Int64) throws {
        let timestamp = try #require(UTCTimestamp(iso8601: text))
        #expect(timestamp.secondsSinceEpoch == seconds)
        #expect(timestamp.iso8601 == text)
    }

    @Test("offsets and fractions are honoured; garbage is refused")
    func variants() {
        #expect(UTCTimestamp(iso8601: "2019-12-09T18:48:20+01:00")?.iso8601 == "2019-12-09T17:48:20Z")
        #expect(UTCTimestamp(iso8601: "2019-12-09T17:48:20.123Z")?.iso8601 == "2019-12-09T17:48:20Z")
        #expect(UTCTimestamp(iso8601: "2019-12-09T16:48:20-01:00")?.iso8601 == "2019-12-09T17:48:20Z")
        for bad in ["", "2019-12-09", "2019-13-09T17:48:20Z", "2019-12-09T17:48:20Q", "yesterday at noon",
                    "2019-12-09T17:48:20+0100", "2019-12-09T17:48:20+01:00:00"] {
            #expect(UTCTimestamp(iso8601: bad) == nil, "\(bad)")
        }
    }

    @Test("every day of four centuries round-trips")
    func calendar() {
        var seconds: Int64 = -4_102_444_800  // 1840
        while seconds < 8_520_000_000 {
            let timestamp = UTCTimestamp(secondsSinceEpoch: seconds)
            #expect(UTCTimestamp(iso8601: timestamp.iso8601) == timestamp)
            seconds += 86_400 + 3_671
        }
    }
}
