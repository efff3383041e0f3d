import Testing
@testable import SyncCore

/// `CanonicalBatch.merge`: two pages merged store what storing them one after the other stores.
@Suite("Merging canonical pages")
struct CanonicalBatchMergeTests {
    static func person(_ id: String, name: String, updated: String?, households: [String] = []) -> CanonicalRecord {
        CanonicalRecord(
            key: ExternalKey(kind: .person, externalType: "Person", externalID: id),
            values: ["first_name": .text(name)], raw: "{}", sourceUpdatedAt: updated,
            relationships: [RelationshipAssertion(
                relationship: "households",
                targets: households.map { ExternalKey(kind: .household, externalType: "Household", externalID: $0) }
            )]
        )
    }

    static func page(_ records: CanonicalRecord...) -> CanonicalBatch {
        CanonicalBatch(orgID: "o1", adapter: "pco", records: records)
    }

    static func names(_ batch: CanonicalBatch) -> [String] {
        batch.records.map { record in
            guard case .text(let name)? = record.values["first_name"] else { return "?" }
            return "\(record.key.externalID):\(name)"
        }
    }

    @Test("records of different keys are all kept, in the order they first appeared")
    func disjoint() {
        var merged = Self.page(Self.person("1", name: "Ann", updated: nil), Self.person("2", name: "Bo", updated: nil))
        let accepted = merged.merge(Self.page(Self.person("3", name: "Cy", updated: nil)))
        #expect(accepted)
        #expect(Self.names(merged) == ["1:Ann", "2:Bo", "3:Cy"])
    }

    @Test("a record of both pages keeps the later copy when it is newer, equal or undated; the earlier one when it is newer",
          arguments: [
              ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "later"),
              ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "later"),
              ("2024-01-01T00:00:00Z", nil, "later"),
              (nil, nil, "later"),
              ("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "earlier"),
              ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", "later"),
              ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:02Z", "later"),
              ("2024-01-01T00:00:02Z", "2024-01-01T01:00:00+01:00", "earlier"),
              ("2024-01-01T00:00:05.5Z", "2024-01-01T00:00:02.5Z", "earlier"),
          ] as [(String?, String?, String)])
    func sharedRecord(earlier: String?, later: String?, kept: String) {
        var merged = Self.page(Self.person("1", name: "earlier", updated: earlier, households: ["h1"]), Self.person("2", name: "x", updated: nil))
        let accepted = merged.merge(Self.page(Self.person("1", name: "later", updated: later, households: ["h1"])))
        #expect(accepted)
        #expect(Self.names(merged) == ["1:\(kept)", "2:x"])
    }

    @Test("times the merge cannot order as Postgres would: declined, nothing changed",
          arguments: [
              // Fractions within a second of each other: Postgres keeps and rounds microseconds.
              ("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.2Z"),
              ("2024-01-01T00:00:00.9999995Z", "2024-01-01T00:00:01Z"),
              // No zone: Postgres reads it in the session's time zone.
              ("2024-01-01T05:00:00", "2024-01-01T02:00:00Z"),
              ("yesterday", "2024-01-01T00:00:00Z"),
              ("2024-01-01T05:00:00+0100", "2024-01-01T02:00:00Z"),
              // Only the later copy dated: stored in order, the undated earlier copy would have
              // cleared the stored time, so the later one is written whatever the row held.
              (nil, "2024-01-01T00:00:00Z"),
          ] as [(String?, String)])
    func undecidedTimes(earlier: String?, later: String) {
        let original = Self.page(Self.person("1", name: "earlier", updated: earlier))
        var merged = original
        let accepted = merged.merge(Self.page(Self.person("1", name: "later", updated: later), Self.person("2", name: "y", updated: nil)))
        #expect(!accepted)
        #expect(merged == original)
    }

    @Test("copies that differ in what they refer to or assert: declined, so their pages store it in order")
    func differentCopies() {
        let earlier = Self.page(Self.person("1", name: "earlier", updated: "2024-01-01T00:00:00Z", households: ["h1"]))
        // The later copy wins but drops h1: stored in order, the earlier page made h1's link.
        var merged = earlier
        let otherTarget = merged.merge(Self.page(Self.person("1", name: "later", updated: "2024-01-02T00:00:00Z", households: ["h2"])))
        #expect(!otherTarget)
        #expect(merged == earlier)
        // The later copy wins but does not assert `households`: stored in order, the earlier copy's
        // edges of it would have stayed.
        let noAssertion = CanonicalRecord(key: earlier.records[0].key, values: ["first_name": .text("later")], raw: "{}",
                                          sourceUpdatedAt: "2024-01-02T00:00:00Z")
        let silent = merged.merge(CanonicalBatch(orgID: "o1", adapter: "pco", records: [noAssertion]))
        #expect(!silent)
        #expect(merged == earlier)
        // The earlier copy wins and the later refers to more: stored in order, its link is made.
        let older = merged.merge(Self.page(Self.person("1", name: "later", updated: "2023-01-01T00:00:00Z", households: ["h1", "h3"])))
        #expect(!older)
        // The later copy wins and asserts more: its assertions replace the earlier's in order too.
        let more = merged.merge(Self.page(Self.person("1", name: "later", updated: "2024-01-02T00:00:00Z", households: ["h1", "h3"])))
        #expect(more)
        #expect(Self.names(merged) == ["1:later"])
    }
}
