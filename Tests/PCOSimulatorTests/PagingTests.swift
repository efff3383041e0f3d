import Foundation
import Testing

/// Offset paging: every id exactly once when nothing changes, and `meta`/`links` right on every page.
@Suite struct PagingTests {
    @Test func pagingOverOffsetYieldsEveryIDOnce() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 230 }
        defer { Task { await sim.stop() } }
        let dataset = try await sim.control(.GET, "/__sim/dataset/1").object
        let expected = Set(((dataset["entities"] as? [String: Any])?["Person"] as? [String: Any] ?? [:]).keys)
        #expect(expected.count == 230)

        var seen: [String] = []
        var url: String? = "/people/v2/people?per_page=25&order=updated_at"
        var pages = 0
        while let next = url {
            let page = try await sim.get(next)
            #expect(page.status == 200)
            seen += ids(page.object)
            url = links(page.object)["next"] as? String
            pages += 1
            #expect(pages <= 20, "paging does not terminate")
            if pages > 20 { break }
        }
        #expect(pages == 10)
        #expect(seen.count == Set(seen).count, "an id came back twice")
        #expect(Set(seen) == expected)

        // The request log counts exactly those page fetches.
        let log = try await sim.control(.GET, "/__sim/requests").json as? [[String: Any]] ?? []
        #expect(log.filter { ($0["path"] as? String)?.hasPrefix("/people/v2/people?") == true }.count == 10)
        #expect(log.allSatisfy { $0["credential"] as? String == "pat:\(sim.simulator.organizations[0].patAppID)" })
    }

    @Test func metaAndLinksOnFirstMiddleAndLastPage() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 60 }
        defer { Task { await sim.stop() } }

        let first = try await sim.get("/people/v2/people?per_page=25&where[status]=active&offset=0").object
        let total = try #require(meta(first)["total_count"] as? Int)
        #expect(total > 50 && total <= 60)
        #expect(meta(first)["count"] as? Int == 25)
        #expect((meta(first)["next"] as? [String: Any])?["offset"] as? Int == 25)
        #expect(meta(first)["prev"] == nil)
        #expect(links(first)["prev"] == nil)
        #expect(links(first)["self"] as? String == sim.baseURL + "/people/v2/people?offset=0&per_page=25&where[status]=active")
        #expect(links(first)["next"] as? String == sim.baseURL + "/people/v2/people?offset=25&per_page=25&where[status]=active")
        #expect((meta(first)["parent"] as? [String: Any])?["type"] as? String == "Organization")
        #expect((meta(first)["parent"] as? [String: Any])?["id"] as? String == "1")

        let middle = try await sim.get("/people/v2/people?per_page=25&where[status]=active&offset=25").object
        #expect(meta(middle)["count"] as? Int == 25)
        #expect((meta(middle)["prev"] as? [String: Any])?["offset"] as? Int == 0)
        #expect((meta(middle)["next"] as? [String: Any])?["offset"] as? Int == 50)
        #expect(links(middle)["prev"] as? String == sim.baseURL + "/people/v2/people?offset=0&per_page=25&where[status]=active")

        let last = try await sim.get("/people/v2/people?per_page=25&where[status]=active&offset=50").object
        #expect(meta(last)["count"] as? Int == total - 50)
        #expect(meta(last)["next"] == nil)
        #expect(links(last)["next"] == nil)
        #expect((meta(last)["prev"] as? [String: Any])?["offset"] as? Int == 25)
        #expect(meta(last)["total_count"] as? Int == total)
    }

    @Test func updatesDuringPagingShowDuplicatesAndSkipsLikePCO() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 100 }
        defer { Task { await sim.stop() } }
        // Page 1 by updated_at, then move the first record of page 1 to the end: page 2 skips one record.
        let page1 = try await sim.get("/people/v2/people?per_page=50&order=updated_at")
        let firstIDs = ids(page1.object)
        let changes = try await sim.mutate([["op": "update", "type": "Person", "id": firstIDs[0]]])
        #expect(changes.first?["op"] as? String == "updated")
        let page2 = try await sim.get("/people/v2/people?per_page=50&order=updated_at&offset=50")
        let secondIDs = ids(page2.object)
        #expect(secondIDs.last == firstIDs[0], "the updated record moves to the end and is read twice")
        #expect(Set(firstIDs + secondIDs).count == 99, "one record slid from page 2 into page 1 and was skipped")
    }

    @Test func nestedCollectionsAndSingleResources() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 80 }
        defer { Task { await sim.stop() } }
        let dataset = try await sim.control(.GET, "/__sim/dataset/1").object
        let entities = try #require(dataset["entities"] as? [String: [String: [String: Any]]])
        let email = try #require(entities["Email"]?.first)
        let personID = try #require(((email.value["relationships"] as? [String: Any])?["person"] as? [String: Any])?["id"] as? String)

        let nested = try await sim.get("/people/v2/people/\(personID)/emails").object
        #expect(ids(nested).contains(email.key))
        #expect((meta(nested)["parent"] as? [String: Any])?["type"] as? String == "Person")
        #expect((meta(nested)["parent"] as? [String: Any])?["id"] as? String == personID)

        let single = try await sim.get("/people/v2/emails/\(email.key)").object
        let data = try #require(single["data"] as? [String: Any])
        #expect(data["id"] as? String == email.key)
        #expect(((data["relationships"] as? [String: Any])?["person"] as? [String: Any])?["data"] as? [String: String] == ["type": "Person", "id": personID])

        let group = try #require(entities["Group"]?.first)
        let memberships = try await sim.get("/groups/v2/groups/\(group.key)/memberships?per_page=100").object
        let expectedMemberships = entities["Membership"]?.filter {
            (($0.value["relationships"] as? [String: Any])?["group"] as? [String: Any])?["id"] as? String == group.key
        }.map(\.key) ?? []
        #expect(Set(ids(memberships)) == Set(expectedMemberships))
        #expect(try await sim.get("/groups/v2/memberships").status == 404, "Membership exists only nested")
        #expect(try await sim.get("/people/v2/people/1").status == 404)
        #expect(try await sim.get("/groups/v2/groups/\(group.key)/events").status == 200)
    }
}
