import Foundation
import Testing
@testable import PCOSimulator

/// Mutations advance `updated_at`, and `/__sim/dataset` mirrors what the API serves.
@Suite struct MutationAndDatasetTests {
    @Test func datasetMatchesServedRecordsAndMutationsAdvanceUpdatedAt() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 40 }
        defer { Task { await sim.stop() } }
        let before = try await sim.control(.GET, "/__sim/dataset/1").object
        let entities = try #require(before["entities"] as? [String: [String: [String: Any]]])
        #expect(Set(entities.keys) == ["Campus", "Household", "HouseholdMembership", "Person", "Address", "Email", "PhoneNumber", "GroupType", "Group", "Event", "Membership"])
        let maxUpdated = entities.values.flatMap(\.values).compactMap { ($0["attributes"] as? [String: Any])?["updated_at"] as? String }.max() ?? ""

        let (personID, person) = try #require(entities["Person"]?.min { $0.key < $1.key })
        let served = try await sim.get("/people/v2/people/\(personID)").object
        let servedAttributes = (served["data"] as? [String: Any])?["attributes"] as? NSDictionary
        #expect(servedAttributes == (person["attributes"] as? NSDictionary))
        let households = (person["relationships"] as? [String: Any])?["households"]
        #expect(households is [Any], "Person.households is a to-many relationship in the dataset")

        let changes = try await sim.mutate([["op": "update", "type": "Person", "id": personID, "attributes": ["nickname": "Skip"]]])
        let stamp = try #require(changes.first?["updated_at"] as? String)
        #expect(stamp > maxUpdated, "mutations stamp a time after every existing updated_at")
        let after = try await sim.control(.GET, "/__sim/dataset/1").object
        let updated = ((after["entities"] as? [String: Any])?["Person"] as? [String: [String: Any]])?[personID]
        #expect((updated?["attributes"] as? [String: Any])?["nickname"] as? String == "Skip")

        let deleted = try await sim.mutate([["op": "delete", "type": "Person", "id": personID]])
        #expect(deleted.contains { $0["type"] as? String == "Person" && $0["op"] as? String == "destroyed" })
        let gone = try await sim.control(.GET, "/__sim/dataset/1").object
        #expect(((gone["entities"] as? [String: Any])?["Person"] as? [String: Any])?[personID] == nil)
        #expect(try await sim.get("/people/v2/people/\(personID)").status == 404)
    }

    @Test func mergeMovesDetailsAndRecordsAPersonMerger() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 30 }
        defer { Task { await sim.stop() } }
        let people = ids(try await sim.get("/people/v2/people?per_page=2").object)
        let removeEmails = ids(try await sim.get("/people/v2/people/\(people[1])/emails").object)
        let changes = try await sim.mutate([["op": "merge", "type": "Person", "id": people[1], "into": people[0]]])
        #expect(changes.contains { $0["type"] as? String == "PersonMerger" && $0["op"] as? String == "created" })
        let keptEmails = ids(try await sim.get("/people/v2/people/\(people[0])/emails").object)
        #expect(Set(removeEmails).isSubset(of: Set(keptEmails)))
        let mergers = try await sim.get("/people/v2/person_mergers?where[person_to_remove_id]=\(people[1])").object
        #expect(meta(mergers)["total_count"] as? Int == 1)
    }

    @Test func generationIsDeterministicAndRealistic() {
        let spec = DatasetSpec(orgIndex: 0, people: 2000, seed: 42, referenceTime: 1_767_225_600)
        let a = DatasetGenerator.data(spec, timeZone: "America/Chicago")
        let b = DatasetGenerator.data(spec, timeZone: "America/Chicago")
        for kind in ResourceKind.allCases {
            #expect(a.table(kind).sortedIDs == b.table(kind).sortedIDs, "\(kind.entityName) ids differ between runs")
        }
        let people = Double(a.count(.person))
        #expect(people == 2000)
        #expect((0.3 ... 0.5).contains(Double(a.count(.household)) / people))
        #expect((0.8 ... 1.0).contains(Double(a.count(.email)) / people))
        #expect((0.7 ... 0.9).contains(Double(a.count(.phoneNumber)) / people))
        #expect((0.4 ... 0.6).contains(Double(a.count(.address)) / people))
        #expect(a.count(.group) == 80)
        let ids = a.table(.person).sortedIDs
        #expect(ids.last! - ids.first! > ids.count, "ids are sparse")
        let c = DatasetGenerator.data(DatasetSpec(orgIndex: 0, people: 2000, seed: 43, referenceTime: 1_767_225_600), timeZone: "America/Chicago")
        #expect(c.table(.person).sortedIDs != ids, "another seed, other data")
    }

    @Test func queryStringEchoSortsKeysAndEncodesValuesLikePCO() {
        let pairs = QueryString.parse("offset=0&per_page=25&include=emails%2Corganization&where%5Bsite_administrator%5D=false")
        #expect(QueryString.echo(pairs, offset: 25) == "?include=emails%2Corganization&offset=25&per_page=25&where[site_administrator]=false")
    }

    @Test func timestampsRoundTrip() {
        #expect(UTCTime.formatDateTime(1_543_177_891) == "2018-11-25T20:31:31Z")
        #expect(UTCTime.parse("2018-11-25T20:31:31Z") == .instant(1_543_177_891))
        #expect(UTCTime.parse("2018-11-25T15:31:31-05:00") == .instant(1_543_177_891))
        // A bare date is the org's local day: Pacific midnight is 08:00 UTC (PCO's documented example).
        guard case .localDate(let days)? = UTCTime.parse("2018-02-22") else { return #expect(Bool(false)) }
        #expect(UTCTime.formatDateTime(UTCTime.startOfLocalDay(days: days, timeZone: "America/Los_Angeles")) == "2018-02-22T08:00:00Z")
    }
}
