import Foundation
import Testing

/// `where`, `order` and `include` behave per resource as PCO allows, and anything else is a 400 naming
/// the parameter.
@Suite struct QuerySemanticsTests {
    static func errorParameter(_ reply: SimulatorHarness.Reply) -> String? {
        let errors = reply.object["errors"] as? [[String: Any]]
        return (errors?.first?["source"] as? [String: Any])?["parameter"] as? String
    }

    @Test func updatedAtRangeFilterAndOrder() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 120 }
        defer { Task { await sim.stop() } }
        let cutoff = "2025-01-01T00:00:00Z"
        let page = try await sim.get("/people/v2/people?per_page=100&where[updated_at][gte]=\(cutoff)&order=-updated_at").object
        let people = page["data"] as? [[String: Any]] ?? []
        let stamps = people.compactMap { ($0["attributes"] as? [String: Any])?["updated_at"] as? String }
        #expect(!stamps.isEmpty)
        #expect(stamps.allSatisfy { $0 >= cutoff })
        #expect(stamps == stamps.sorted(by: >))

        let all = try await sim.control(.GET, "/__sim/dataset/1").object
        let persons = (all["entities"] as? [String: Any])?["Person"] as? [String: [String: Any]] ?? [:]
        let expected = persons.values.filter { (($0["attributes"] as? [String: Any])?["updated_at"] as? String ?? "") >= cutoff }.count
        #expect(meta(page)["total_count"] as? Int == expected)

        let both = try await sim.get("/people/v2/people?where[updated_at][gt]=2024-01-01T00:00:00Z&where[updated_at][lt]=2024-06-01T00:00:00Z&per_page=100").object
        for person in both["data"] as? [[String: Any]] ?? [] {
            let stamp = (person["attributes"] as? [String: Any])?["updated_at"] as? String ?? ""
            #expect(stamp > "2024-01-01T00:00:00Z" && stamp < "2024-06-01T00:00:00Z")
        }
        // Many records share one second: the dataset is built with ties.
        let counts = Dictionary(grouping: persons.values.compactMap { ($0["attributes"] as? [String: Any])?["updated_at"] as? String }, by: { $0 })
        #expect(counts.values.contains { $0.count >= 3 })
    }

    @Test func equalityFiltersAreCaseInsensitiveForText() async throws {
        let sim = try await SimulatorHarness.start()
        defer { Task { await sim.stop() } }
        try await sim.mutate([["op": "create", "type": "Person", "attributes": ["first_name": "Zebulon", "last_name": "Quist"]]])
        let page = try await sim.get("/people/v2/people?where[first_name]=zebulon").object
        #expect(meta(page)["total_count"] as? Int == 1)
        let search = try await sim.get("/people/v2/people?where[search_name]=ebulon qu").object
        #expect(meta(search)["total_count"] as? Int == 1)
    }

    @Test func includeAddsIncludedAndRelationshipData() async throws {
        let sim = try await SimulatorHarness.start()
        defer { Task { await sim.stop() } }
        let page = try await sim.get("/people/v2/people?per_page=100&include=emails,phone_numbers,addresses").object
        let people = page["data"] as? [[String: Any]] ?? []
        let included = page["included"] as? [[String: Any]] ?? []
        var referenced = Set<String>()
        for person in people {
            let relationships = person["relationships"] as? [String: Any] ?? [:]
            for name in ["emails", "phone_numbers", "addresses"] {
                let rel = try #require(relationships[name] as? [String: Any], "\(name) relationship missing")
                for ref in rel["data"] as? [[String: String]] ?? [] { referenced.insert("\(ref["type"]!):\(ref["id"]!)") }
            }
        }
        let includedKeys = included.map { "\($0["type"] as! String):\($0["id"] as! String)" }
        #expect(Set(includedKeys) == referenced)
        #expect(includedKeys.count == Set(includedKeys).count, "included resources are unique")
        #expect(Set(included.compactMap { $0["type"] as? String }) == ["Email", "PhoneNumber", "Address"])

        let plain = try await sim.get("/people/v2/people?per_page=5").object
        for person in plain["data"] as? [[String: Any]] ?? [] {
            let relationships = person["relationships"] as? [String: Any] ?? [:]
            #expect(Array(relationships.keys) == ["primary_campus"], "without include only primary_campus, as recorded")
        }
        #expect((plain["included"] as? [Any])?.isEmpty == true)
    }

    @Test func disallowedParametersAnswer400NamingTheParameter() async throws {
        let sim = try await SimulatorHarness.start()
        defer { Task { await sim.stop() } }
        let cases: [(String, String)] = [
            ("/people/v2/addresses?where[updated_at][gte]=2024-01-01T00:00:00Z", "where[updated_at][gte]"),
            ("/groups/v2/groups?order=updated_at", "order"),
            ("/groups/v2/groups?where[updated_at]=2024-01-01T00:00:00Z", "where[updated_at]"),
            ("/people/v2/people?include=bogus", "include"),
            ("/people/v2/emails?include=person", "include"),
            ("/people/v2/people?per_page=101", "per_page"),
            ("/people/v2/people?per_page=0", "per_page"),
            ("/people/v2/people?offset=-1", "offset"),
            ("/people/v2/people?where[first_name][gt]=A", "where[first_name][gt]"),
            ("/people/v2/people?where[updated_at][gte]=yesterday", "where[updated_at][gte]"),
        ]
        for (path, parameter) in cases {
            let reply = try await sim.get(path)
            #expect(reply.status == 400, "\(path)")
            #expect(Self.errorParameter(reply) == parameter, "\(path)")
            #expect(reply.headers["content-type"] == "application/json; charset=utf-8")
        }
        // Address can be ordered by updated_at (the engine's early-stop delta relies on it).
        #expect(try await sim.get("/people/v2/addresses?order=-updated_at").status == 200)
        let wrongCredentials = try await sim.request(.GET, "/people/v2/people", authorization: "Basic " + Data("nobody:nothing".utf8).base64EncodedString())
        #expect(wrongCredentials.status == 401)
        #expect((wrongCredentials.object["errors"] as? [[String: Any]])?.first?["status"] as? String == "401")
    }

    @Test func capabilitiesInMetaComeFromTheManifest() async throws {
        let sim = try await SimulatorHarness.start()
        defer { Task { await sim.stop() } }
        let addresses = meta(try await sim.get("/people/v2/addresses").object)
        #expect(!(addresses["can_query_by"] as? [String] ?? []).contains("updated_at"))
        #expect((addresses["can_order_by"] as? [String] ?? []).contains("updated_at"))
        let groups = meta(try await sim.get("/groups/v2/groups").object)
        #expect(groups["can_order_by"] as? [String] == ["name"])
        #expect(groups["can_include"] as? [String] == ["enrollment", "group_type", "location"])
    }
}
