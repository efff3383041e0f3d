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
              (nil, "2024-01-01T00:00:00Z", "later"),
              ("2024-01-01T00:00:00Z", nil, "later"),
              ("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "earlier"),
              ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:01Z", "later"),
              ("2024-01-01T00:00:01Z", "2024-01-01T01:00:00+01:00", "earlier"),
          ] as [(String?, String?, String)])
    func sharedRecord(earlier: String?, later: String?, kept: String) {
        var merged = Self.page(Self.person("1", name: "earlier", updated: earlier, households: ["h1"]), Self.person("2", name: "x", updated: nil))
        let accepted = merged.merge(Self.page(Self.person("1", name: "later", updated: later, households: ["h2"])))
        #expect(accepted)
        #expect(Self.names(merged) == ["1:\(kept)", "2:x"])
        // The kept copy's relationships come with it: its edges replace the other's in the store.
        #expect(merged.records[0].relationships.first?.targets.map(\.externalID) == [kept == "later" ? "h2" : "h1"])
    }

    @Test("timestamps the merge cannot order as Postgres would: declined, nothing changed",
          arguments: [
              ("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.2Z"),
              ("yesterday", "2024-01-01T00:00:00Z"),
          ])
    func undecided(earlier: String, later: String) {
        let original = Self.page(Self.person("1", name: "earlier", updated: earlier))
        var merged = original
        let accepted = merged.merge(Self.page(Self.person("1", name: "later", updated: later), Self.person("2", name: "y", updated: nil)))
        #expect(!accepted)
        #expect(merged == original)
    }
}
