import Foundation
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// A group commit stores its pages merged (`CanonicalBatch.merge`): the merged page must store what
/// the pages stored one after the other do. Each case stores a seed, then pages A and B, in order
/// under org `seq` and merged under org `mrg`, and compares the two orgs' rows, links and edges by
/// external id.
@Suite("Merged pages against a real Postgres")
struct MergedPagesTests {
    static func person(_ id: String, _ name: String, _ updated: String?, households: [String]) -> CanonicalRecord {
        CanonicalRecord(
            key: ExternalKey(kind: .person, externalType: "Person", externalID: id),
            values: ["first_name": .text(name)], raw: "{}", sourceUpdatedAt: updated,
            relationships: [RelationshipAssertion(
                relationship: "households",
                targets: households.map { ExternalKey(kind: .household, externalType: "Household", externalID: $0) }
            )]
        )
    }

    static func email(_ id: String, person: String) -> CanonicalRecord {
        let personKey = ExternalKey(kind: .person, externalType: "Person", externalID: person)
        return CanonicalRecord(
            key: ExternalKey(kind: .email, externalType: "Email", externalID: id),
            values: ["person_id": .reference(personKey), "address": .text("\(id)@example.org")], raw: "{}",
            sourceUpdatedAt: "2024-01-01T00:00:00Z",
            relationships: [RelationshipAssertion(relationship: "person", targets: [personKey])]
        )
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var seed: [CanonicalRecord]
        var first: [CanonicalRecord]
        var second: [CanonicalRecord]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "the later copy is newer; a stored older copy had other edges",
             seed: [person("p1", "seed", "2024-01-01T00:00:00Z", households: ["h0"])],
             first: [person("p1", "A", "2024-01-02T00:00:00Z", households: ["h1"]), email("e1", person: "p1")],
             second: [person("p1", "B", "2024-01-03T00:00:00Z", households: ["h1"]), email("e2", person: "p1")]),
        Case(name: "the earlier copy is newer",
             seed: [person("p1", "seed", "2024-01-01T00:00:00Z", households: ["h0"])],
             first: [person("p1", "A", "2024-01-03T00:00:00Z", households: ["h1"])],
             second: [person("p1", "B", "2024-01-02T00:00:00Z", households: ["h1"])]),
        Case(name: "both copies older than the stored row",
             seed: [person("p1", "seed", "2024-01-05T00:00:00Z", households: ["h0"])],
             first: [person("p1", "A", "2024-01-02T00:00:00Z", households: ["h1"])],
             second: [person("p1", "B", "2024-01-03T00:00:00Z", households: ["h1"])]),
        Case(name: "the later copy is undated and asserts more",
             seed: [person("p1", "seed", "2024-01-01T00:00:00Z", households: ["h0"])],
             first: [person("p1", "A", "2024-01-02T00:00:00Z", households: ["h1"])],
             second: [person("p1", "B", nil, households: ["h1", "h2"])]),
        Case(name: "equal times, nothing stored before",
             seed: [],
             first: [person("p3", "A", "2024-01-01T00:00:00Z", households: ["h1"])],
             second: [person("p3", "B", "2024-01-01T00:00:00Z", households: ["h1"])]),
        Case(name: "a record one page refers to and the other stores",
             seed: [],
             first: [email("e1", person: "p2")],
             second: [person("p2", "B", "2024-01-01T00:00:00Z", households: ["h1"])]),
    ]

    @Test("a merged page stores the rows, links and edges its pages store one after the other", arguments: cases)
    func sameAsInOrder(_ scenario: Case) async throws {
        var merged = CanonicalBatch(orgID: "mrg", adapter: "pco", records: scenario.first)
        let accepted = merged.merge(CanonicalBatch(orgID: "mrg", adapter: "pco", records: scenario.second))
        try #require(accepted, "the case must be one the merge accepts")
        try await TemporaryDatabase.withMigrated(prefix: "merged") { database in
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            let store = CanonicalStore(logger: TestServices.logger)
            func apply(_ batch: CanonicalBatch) async throws {
                guard !batch.isEmpty else { return }
                _ = try await connection.withTransaction(logger: TestServices.logger) { try await store.apply(batch, on: $0) }
            }
            for org in ["seq", "mrg"] { try await apply(CanonicalBatch(orgID: org, adapter: "pco", records: scenario.seed)) }
            try await apply(CanonicalBatch(orgID: "seq", adapter: "pco", records: scenario.first))
            try await apply(CanonicalBatch(orgID: "seq", adapter: "pco", records: scenario.second))
            try await apply(merged)

            let inOrder = try await Self.snapshot(of: "seq", on: connection)
            let together = try await Self.snapshot(of: "mrg", on: connection)
            #expect(together == inOrder)
            #expect(!inOrder.isEmpty)
        }
    }

    /// Rows, links and edges of one org, with internal ids replaced by external ones.
    static func snapshot(of org: String, on connection: PostgresConnection) async throws -> [String] {
        let queries: [PostgresQuery] = [
            """
            SELECT 'person ' || l.external_id || ' ' || coalesce(p.first_name, '-') || ' ' || coalesce(p.source_updated_at::text, '-')
            FROM people p JOIN external_links l ON l.internal_id = p.id WHERE p.org_id = \(org) ORDER BY 1
            """,
            """
            SELECT 'email ' || l.external_id || ' of ' || coalesce(lp.external_id, '-')
            FROM emails e JOIN external_links l ON l.internal_id = e.id
            LEFT JOIN external_links lp ON lp.internal_id = e.person_id WHERE e.org_id = \(org) ORDER BY 1
            """,
            """
            SELECT 'link ' || external_type || '/' || external_id || CASE WHEN is_placeholder THEN ' placeholder' ELSE '' END
            FROM external_links WHERE org_id = \(org) ORDER BY 1
            """,
            """
            SELECT 'edge ' || ls.external_id || ' ' || e.relationship || ' ' || lt.external_id
            FROM edges e JOIN external_links ls ON ls.internal_id = e.source_id JOIN external_links lt ON lt.internal_id = e.target_id
            WHERE e.org_id = \(org) ORDER BY 1
            """,
        ]
        var lines: [String] = []
        for query in queries {
            for try await (line,) in try await connection.query(query, logger: TestServices.logger).decode((String,).self) {
                lines.append(line)
            }
        }
        return lines
    }
}
