import Foundation
import Testing

/// The simulator answers every recorded request with a document of the same shape as real PCO.
///
/// The recordings (`shared/fixtures/pco-recorded`, found via `PCO_FIXTURES_DIR` or next to the
/// repository) were made against API version 2018-08-01, so requests send `X-PCO-API-Version:
/// 2018-08-01` and get that version's attribute set. Intentional deviations, handled here:
/// - ids differ: the recorded person 45029164 is replaced by a "Paul" the test creates (with an email
///   and an address, like the recorded Paul Revere);
/// - the org has 200 people (199 generated + Paul), as in the recording, so page 175 is the last;
/// - attribute values differ; only keys and JSON types are compared (null where the recording is null
///   accepts any value); headers are compared by name, plus the content type exactly.
@Suite struct FixtureShapeTests {
    static var fixturesDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["PCO_FIXTURES_DIR"] { return URL(fileURLWithPath: dir) }
        // Tests/PCOSimulatorTests/<file> -> repository root -> ../shared/fixtures/pco-recorded
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures/pco-recorded")
    }

    static var fixtureFiles: [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: fixturesDirectory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func allTwelveRecordingsAreFound() {
        #expect(Self.fixtureFiles.count == 12, "recordings not found in \(Self.fixturesDirectory.path)")
    }

    @Test func everyRecordedResponseHasTheSameShape() async throws {
        let files = Self.fixtureFiles
        try #require(!files.isEmpty)
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 199 }
        defer { Task { await sim.stop() } }

        let changes = try await sim.mutate([
            ["op": "create", "type": "Person", "attributes": ["first_name": "Paul", "last_name": "Revere", "site_administrator": false]],
        ])
        let paulID = try #require(changes.first { $0["type"] as? String == "Person" }?["id"] as? String)
        try await sim.mutate([
            ["op": "create", "type": "Address", "relationships": ["person": paulID]],
            ["op": "create", "type": "Email", "relationships": ["person": paulID]],
        ])
        let count = try await sim.get("/people/v2/people?per_page=1")
        #expect(meta(count.object)["total_count"] as? Int == 200)

        for file in files {
            let fixture = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            let request = try #require(fixture["request"] as? [String: Any])
            let response = try #require(fixture["response"] as? [String: Any])
            let method = request["method"] as? String ?? "GET"
            let path = (request["path"] as? String ?? "").replacingOccurrences(of: "45029164", with: paulID)
            let body = try (request["body"] as? [String: Any]).map { Array(try JSONSerialization.data(withJSONObject: $0)) }
            let reply = try await sim.request(
                method == "POST" ? .POST : .GET, path, authorization: sim.basicAuth(),
                headers: ["X-PCO-API-Version": "2018-08-01"], body: body
            )
            let name = file.lastPathComponent
            #expect(reply.status == response["status"] as? Int, "\(name): status")
            let recordedHeaders = response["headers"] as? [String: String] ?? [:]
            for (header, value) in recordedHeaders {
                #expect(reply.headers[header.lowercased()] != nil, "\(name): missing header \(header)")
                if header == "Content-Type" { #expect(reply.headers["content-type"] == value, "\(name): content type") }
            }
            let recordedShape = JSONShape(try #require(response["body"]))
            let simulatedShape = JSONShape(try #require(reply.json, "\(name): body is not JSON"))
            let differences = recordedShape.differences(from: simulatedShape)
            #expect(differences.isEmpty, "\(name): \(differences.joined(separator: "; "))")
        }
    }
}

/// The shape comparison itself catches what it must.
@Suite struct JSONShapeTests {
    @Test func detectsMissingExtraAndRetypedKeys() {
        let recorded = JSONShape(["data": [["id": "1", "a": NSNull(), "b": "x"]], "meta": ["count": 1]] as [String: Any])
        #expect(recorded.differences(from: JSONShape(["data": [["id": "2", "a": 5, "b": "y"]], "meta": ["count": 3]] as [String: Any])).isEmpty)
        #expect(!recorded.differences(from: JSONShape(["data": [["id": "2", "a": 5]], "meta": ["count": 3]] as [String: Any])).isEmpty, "missing key")
        #expect(!recorded.differences(from: JSONShape(["data": [["id": "2", "a": 5, "b": "y", "c": 1]], "meta": ["count": 3]] as [String: Any])).isEmpty, "extra key")
        #expect(!recorded.differences(from: JSONShape(["data": [["id": 2, "a": 5, "b": "y"]], "meta": ["count": 3]] as [String: Any])).isEmpty, "type change")
        #expect(!recorded.differences(from: JSONShape(["data": [["id": "2", "a": 5, "b": NSNull()]], "meta": ["count": 3]] as [String: Any])).isEmpty, "null where never null")
        #expect(!recorded.differences(from: JSONShape(["data": ["id": "2", "a": 5, "b": "y"], "meta": ["count": 3]] as [String: Any])).isEmpty, "object instead of array")
    }
}
