import Foundation
import SyncTestSupport
import Testing
@testable import PlanningCenter

@Suite("Decoding recorded PCO responses")
struct DecodingTests {
    /// The response body of a recorded fixture, re-serialised as the bytes a client would receive.
    static func body(of fixture: URL) throws -> (status: Int, body: Data) {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
        let response = try #require(object["response"] as? [String: Any])
        let status = try #require(response["status"] as? Int)
        return (status, try JSONSerialization.data(withJSONObject: try #require(response["body"])))
    }

    @Test("every recorded fixture decodes: documents as JSON:API, errors as PCO error documents")
    func everyFixtureDecodes() throws {
        let fixtures = try TestServices.recordedFixtures()
        #expect(fixtures.count >= 12)
        for fixture in fixtures {
            let (status, body) = try Self.body(of: fixture)
            if status >= 400 {
                let errors = try #require(PCOErrorDocument.decode(body), "\(fixture.lastPathComponent)")
                #expect(errors.primaryCode == String(status) || errors.primaryCode == "invalid_resource_payload")
                #expect(errors.primaryDetail?.isEmpty == false)
            } else {
                let document = try JSONAPIDocument.decode(body)
                #expect(!document.resources.isEmpty, "\(fixture.lastPathComponent) has no resources")
                for resource in document.resources {
                    #expect(resource.type == "Person")
                    #expect(!resource.id.isEmpty)
                    #expect(resource.attributes["first_name"] != nil)
                }
            }
        }
    }

    @Test("paging metadata, included resources and relationship data decode")
    func pagingAndIncludes() throws {
        let fixtures = try TestServices.recordedFixtures()
        let first = try JSONAPIDocument.decode(Self.body(of: #require(fixtures.first { $0.lastPathComponent.hasPrefix("00-") })).body)
        #expect(first.meta?.next?.offset == 25)
        #expect(first.meta?.prev == nil)
        #expect(first.meta?.totalCount == 200)
        #expect(first.hasNextPage)
        let last = try JSONAPIDocument.decode(Self.body(of: #require(fixtures.first { $0.lastPathComponent.hasPrefix("02-") })).body)
        #expect(last.meta?.next == nil && last.links?.next == nil && !last.hasNextPage)
        #expect(last.meta?.prev?.offset == 150)

        let withEmails = try JSONAPIDocument.decode(Self.body(of: #require(fixtures.first { $0.lastPathComponent.hasPrefix("04-") })).body)
        let included = IncludedIndex(withEmails.included)
        let person = try #require(withEmails.resources.first)
        guard case .toMany(let emails)? = person.relationships["emails"]?.data else {
            Issue.record("emails relationship data is not a list")
            return
        }
        let email = try #require(emails.first.flatMap { included[$0] })
        #expect(email.attributes["address"]?.stringValue?.contains("@") == true)
        guard case .toOne(let owner)? = email.relationships["person"]?.data else {
            Issue.record("an included email has no person")
            return
        }
        #expect(owner?.id == person.id)
        #expect(person.relationships["primary_campus"]?.data == .toOne(nil))
        // A relationship without `data` is unknown, not empty.
        let single = try JSONAPIDocument.decode(Self.body(of: #require(fixtures.first { $0.lastPathComponent.hasPrefix("07-") })).body)
        guard case .one(let resource?) = single.data else {
            Issue.record("a single-resource document must decode as one resource")
            return
        }
        #expect(resource.links?["self"] != nil)
    }

    @Test("unknown attributes, numeric ids and null relationships are kept")
    func tolerance() throws {
        let body = Data("""
            {"data": [{"type": "PersonMerger", "id": 77, "attributes": {"brand_new": {"nested": [1, 2.5, null]}},
                       "relationships": {"person_to_keep": {"data": {"type": "Person", "id": 5}}, "x": {"data": null}}}],
             "meta": {"total_count": 1, "count": 1}}
            """.utf8)
        let document = try JSONAPIDocument.decode(body)
        let resource = try #require(document.resources.first)
        #expect(resource.id == "77")
        #expect(resource.attributes["brand_new"] == .object(["nested": .array([.int(1), .double(2.5), .null])]))
        #expect(resource.relationships["person_to_keep"]?.data == .toOne(ResourceIdentifier(type: "Person", id: "5")))
        #expect(resource.relationships["x"]?.data == .toOne(nil))
    }
}
