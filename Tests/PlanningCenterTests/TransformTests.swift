import Foundation
import SyncCore
import SyncTestSupport
import Testing
@testable import PlanningCenter

@Suite("PCO to canonical transformation")
struct TransformTests {
    let transformer = PCOTransformer()

    func entity(_ name: String) throws -> EntityDefinition {
        try #require(PCOManifest.manifest.entity(named: name))
    }

    @Test("a people page with included emails fills people and emails, linked by person")
    func peopleWithEmails() throws {
        let fixture = try #require(try TestServices.recordedFixtures().first { $0.lastPathComponent.hasPrefix("04-") })
        let document = try JSONAPIDocument.decode(DecodingTests.body(of: fixture).body)
        let batch = try transformer.transform(document, entity: entity("Person"), orgID: "org1")
        let people = batch.records.filter { $0.kind == .person }
        let emails = batch.records.filter { $0.kind == .email }
        #expect(people.count == document.resources.count)
        #expect(emails.count == document.included.filter { $0.type == "Email" }.count)
        let paul = try #require(people.first { $0.key.externalID == "45029164" })
        #expect(paul.values["first_name"] == .text("Paul"))
        #expect(paul.values["child"] == .text("false"))
        #expect(paul.values["birthdate"] == .null)
        #expect(paul.values["primary_campus_id"] == .null)
        #expect(paul.sourceUpdatedAt == "2019-12-09T17:48:20Z")
        // primary_campus: null is an assertion that clears the edge.
        #expect(paul.relationships.contains(RelationshipAssertion(relationship: "primary_campus", targets: [])))
        let paulsEmail = try #require(emails.first { $0.key.externalID == "29871166" })
        #expect(paulsEmail.values["person_id"] == .reference(paul.key))
        #expect(paulsEmail.values["is_primary"] == .text("true"))
        #expect(paulsEmail.values["address"] == .text("paul.revere@mailinator.com"))
        // The raw document keeps every attribute, including ones without a column.
        let raw = try #require(try JSONSerialization.jsonObject(with: Data(paul.raw.utf8)) as? [String: Any])
        let attributes = try #require(raw["attributes"] as? [String: Any])
        #expect(attributes["passed_background_check"] as? Bool == false)
        #expect(attributes["demographic_avatar_url"] != nil)
    }

    @Test("PrimaryCampus references resolve to the Campus key; nested memberships get their group from the URL")
    func typeNamesAndNesting() throws {
        let person = JSONAPIResource(
            type: "Person", id: "1", attributes: ["first_name": .string("Ann"), "grade": .int(3)],
            relationships: ["primary_campus": ResourceRelationship(data: .toOne(ResourceIdentifier(type: "PrimaryCampus", id: "9")))]
        )
        let batch = try transformer.transform(JSONAPIDocument(data: .many([person])), entity: entity("Person"), orgID: "o")
        let record = try #require(batch.records.first)
        #expect(record.values["primary_campus_id"] == .reference(ExternalKey(kind: .campus, externalType: "Campus", externalID: "9")))
        #expect(record.values["grade"] == .text("3"))

        let membership = JSONAPIResource(
            type: "Membership", id: "5", attributes: ["role": .string("leader")],
            relationships: ["person": ResourceRelationship(data: .toOne(ResourceIdentifier(type: "Person", id: "1")))]
        )
        let nested = try transformer.transform(
            JSONAPIDocument(data: .many([membership])), entity: entity("Membership"), orgID: "o",
            parent: ResourceIdentifier(type: "Group", id: "42")
        )
        let member = try #require(nested.records.first)
        #expect(member.values["group_id"] == .reference(ExternalKey(kind: .group, externalType: "Group", externalID: "42")))
        #expect(member.values["person_id"] == .reference(ExternalKey(kind: .person, externalType: "Person", externalID: "1")))
        #expect(member.relationships.map(\.relationship).sorted() == ["group", "person"])
    }

    @Test("a resource of another type on an entity's page is an error naming it")
    func unexpectedType() throws {
        let stray = JSONAPIResource(type: "Email", id: "3", attributes: ["address": .string("a@b.c")])
        #expect(throws: PCOTransformError.self) {
            try transformer.transform(JSONAPIDocument(data: .many([stray])), entity: entity("Person"), orgID: "o")
        }
    }
}
