import Testing
import SyncCore
@testable import PlanningCenter

@Suite("PCO manifest and graph")
struct PCOManifestTests {
    let graph: DependencyGraph

    init() throws {
        graph = try DependencyGraph.build(from: PCOManifest.manifest)
    }

    func level(_ entity: String) throws -> Int {
        try #require(graph.level(of: entity), "\(entity) is missing from the graph")
    }

    @Test("the manifest describes every entity the engine syncs and is valid")
    func entities() {
        let names = Set(PCOManifest.manifest.entities.map(\.name))
        #expect(names == ["Campus", "Household", "HouseholdMembership", "Person", "Address", "Email", "PhoneNumber",
                          "GroupType", "Group", "Event", "Membership"])
        #expect(PCOManifest.manifest.validationErrors().isEmpty)
    }

    @Test("Campus and Household come before Person")
    func campusHouseholdBeforePerson() throws {
        #expect(try level("Campus") < level("Person"))
        #expect(try level("Household") < level("Person"))
    }

    @Test("Person comes before its addresses, emails, phone numbers, household and group memberships",
          arguments: ["Address", "Email", "PhoneNumber", "HouseholdMembership", "Membership"])
    func personFirst(child: String) throws {
        #expect(try level("Person") < level(child))
    }

    @Test("GroupType before Group; Group before Event and Membership")
    func groups() throws {
        #expect(try level("GroupType") < level("Group"))
        #expect(try level("Group") < level("Event"))
        #expect(try level("Group") < level("Membership"))
    }

    @Test("the PCO graph has three levels and drops Household.primary_contact with a warning")
    func exactLevels() {
        #expect(graph.levels == [
            ["Campus", "Household", "GroupType"],
            ["Person", "Group"],
            ["HouseholdMembership", "Address", "Email", "PhoneNumber", "Event", "Membership"],
        ])
        #expect(graph.dropped.map { "\($0.edge.to).\($0.edge.relationship)" } == ["Household.primary_contact"])
    }

    @Test("PCO quirks: Address has no updated_at filter, Group and Membership no updated_at, Membership only nested")
    func quirks() throws {
        let manifest = PCOManifest.manifest
        let address = try #require(manifest.entity(named: "Address"))
        #expect(!address.endpoint.filterable.contains("updated_at"))
        #expect(address.endpoint.orderable.contains("updated_at"))
        #expect(address.deltaMethod == .updatedAtDescendingEarlyStop)
        #expect(try #require(manifest.entity(named: "Person")).deltaMethod == .updatedAtFilter)
        for name in ["Group", "Membership"] {
            let entity = try #require(manifest.entity(named: name))
            #expect(!entity.hasUpdatedAt)
            #expect(entity.deltaMethod == .fullRefresh)
        }
        let membership = try #require(manifest.entity(named: "Membership"))
        #expect(membership.endpoint.parent == "Group")
        #expect(membership.endpoint.path(parentID: "42") == "/groups/v2/groups/42/memberships")
        #expect(manifest.entity(forTypeName: "PrimaryCampus")?.name == "Campus")
    }
}
