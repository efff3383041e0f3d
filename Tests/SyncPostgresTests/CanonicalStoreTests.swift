import Foundation
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// The bulk store against a real Postgres, fed with core types only: it never needs an adapter.
@Suite("Canonical bulk store")
struct CanonicalStoreTests {
    let store = CanonicalStore(logger: TestServices.logger)

    static func key(_ kind: CanonicalKind, _ id: String) -> ExternalKey {
        ExternalKey(kind: kind, externalType: kind.rawValue, externalID: id)
    }

    static func person(_ id: String, first: String, updated: String = "2024-01-01T00:00:00Z",
                       households: [String]? = nil) -> CanonicalRecord {
        CanonicalRecord(
            key: key(.person, id),
            values: ["first_name": .text(first), "child": .text("false"), "birthdate": .text("1990-05-17"),
                     "primary_campus_id": .reference(key(.campus, "c1"))],
            raw: #"{"id":"\#(id)","attributes":{"first_name":"\#(first)","future_field":[1,2]}}"#,
            sourceCreatedAt: "2020-01-01T00:00:00Z", sourceUpdatedAt: updated,
            relationships: households.map { [RelationshipAssertion(relationship: "households", targets: $0.map { key(.household, $0) })] } ?? []
        )
    }

    static func email(_ id: String, person: String) -> CanonicalRecord {
        CanonicalRecord(
            key: key(.email, id),
            values: ["person_id": .reference(key(.person, person)), "address": .text("\(id)@example.org"), "is_primary": .text("true")],
            raw: #"{"id":"\#(id)"}"#, sourceUpdatedAt: "2024-01-01T00:00:00Z",
            relationships: [RelationshipAssertion(relationship: "person", targets: [key(.person, person)])]
        )
    }

    func apply(_ records: [CanonicalRecord], to database: TemporaryDatabase) async throws -> CanonicalStore.Outcome {
        let connection = try await database.connect()
        defer { Task { try? await connection.close() } }
        return try await connection.withTransaction(logger: TestServices.logger) { connection in
            try await store.apply(CanonicalBatch(orgID: "org1", adapter: "pco", records: records), on: connection)
        }
    }

    func rows(_ sql: String, in database: TemporaryDatabase) async throws -> [String] {
        let connection = try await database.connect()
        defer { Task { try? await connection.close() } }
        var result: [String] = []
        for try await (text,) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestServices.logger).decode((String,).self) {
            result.append(text)
        }
        return result
    }

    @Test("a page's rows, links and edges are stored, references resolved to internal ids")
    func storesPage() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            let outcome = try await apply([Self.person("p1", first: "Ann"), Self.email("e1", person: "p1")], to: database)
            #expect(outcome.rowsWritten == [.person: 1, .email: 1])
            #expect(outcome.placeholdersCreated == 1, "campus c1 is referenced but not stored")
            let joined = try await rows("""
                SELECT p.first_name || '|' || p.birthdate::text || '|' || e.address || '|' || l.external_id
                FROM emails e JOIN people p ON p.id = e.person_id JOIN external_links l ON l.internal_id = p.id
                """, in: database)
            #expect(joined == ["Ann|1990-05-17|e1@example.org|p1"])
            let raw = try await rows("SELECT raw->'attributes'->>'future_field' FROM people", in: database)
            #expect(raw == ["[1, 2]"])
            let edges = try await rows("SELECT source_entity || '.' || relationship || '->' || target_entity FROM edges", in: database)
            #expect(edges == ["Email.person->Person"])
        }
    }

    @Test("a placeholder link keeps its internal id when the record arrives")
    func placeholderKeepsID() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.email("e1", person: "p9")], to: database)
            let before = try await rows("SELECT internal_id::text || '|' || is_placeholder::text FROM external_links WHERE external_id = 'p9'", in: database)
            #expect(before.count == 1 && before[0].hasSuffix("|true"))
            _ = try await apply([Self.person("p9", first: "Late")], to: database)
            let after = try await rows("SELECT internal_id::text || '|' || is_placeholder::text FROM external_links WHERE external_id = 'p9'", in: database)
            #expect(after == [before[0].replacingOccurrences(of: "|true", with: "|false")])
            let linked = try await rows("SELECT p.first_name FROM emails e JOIN people p ON p.id = e.person_id", in: database)
            #expect(linked == ["Late"])
        }
    }

    /// Pages of emails, addresses, phone numbers and memberships all reference their people: an
    /// upsert of those links would lock them until COMMIT (queueing concurrent pages) and write a
    /// new row version each time. `xmin` changes exactly when a row version is written.
    @Test("a link that exists and needs no change is only read, not written again")
    func existingLinkNotRewritten() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.person("p1", first: "Ann")], to: database)
            let version = "SELECT xmin::text FROM external_links WHERE external_id = $$X$$"
            let person = try await rows(version.replacingOccurrences(of: "X", with: "p1"), in: database)
            let campus = try await rows(version.replacingOccurrences(of: "X", with: "c1"), in: database)
            // Another page referencing p1 (and the same person page again, referencing c1).
            let outcome = try await apply([Self.email("e1", person: "p1"), Self.person("p1", first: "Ann")], to: database)
            #expect(outcome.placeholdersCreated == 0)
            #expect(try await rows(version.replacingOccurrences(of: "X", with: "p1"), in: database) == person)
            #expect(try await rows(version.replacingOccurrences(of: "X", with: "c1"), in: database) == campus)
            #expect(try await rows("SELECT is_placeholder::text FROM external_links WHERE external_id = 'c1'", in: database) == ["true"])
            let linked = try await rows("SELECT p.first_name FROM emails e JOIN people p ON p.id = e.person_id", in: database)
            #expect(linked == ["Ann"])
        }
    }

    /// The link is missing from the second page's snapshot but inserted by a transaction that has not
    /// committed yet: the second page must wait for it and use its internal id, not make another.
    @Test("two pages referencing the same new record at once end with one link and one internal id")
    func concurrentNewLink() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            let first = try await database.connect()
            let second = try await database.connect()
            defer { Task { try? await first.close(); try? await second.close() } }
            let logger = TestServices.logger
            try await first.query("BEGIN", logger: logger)
            _ = try await store.apply(CanonicalBatch(orgID: "org1", adapter: "pco", records: [Self.email("e1", person: "p5")]), on: first)
            let store = store
            let waiting = Task {
                try await second.query("BEGIN", logger: logger)
                let outcome = try await store.apply(CanonicalBatch(orgID: "org1", adapter: "pco", records: [Self.email("e2", person: "p5")]), on: second)
                try await second.query("COMMIT", logger: logger)
                return outcome
            }
            try await Task.sleep(for: .milliseconds(300))
            try await first.query("COMMIT", logger: logger)
            let outcome = try await waiting.value
            #expect(outcome.placeholdersCreated == 0, "the first page created the placeholder")
            #expect(try await rows("SELECT count(*)::text FROM external_links WHERE external_id = 'p5'", in: database) == ["1"])
            #expect(try await rows("SELECT count(DISTINCT person_id)::text FROM emails", in: database) == ["1"])
            #expect(try await rows("""
                SELECT count(*)::text FROM emails e JOIN external_links l ON l.internal_id = e.person_id WHERE l.external_id = 'p5'
                """, in: database) == ["2"])
        }
    }

    @Test("applying the same page twice changes nothing but synced_at")
    func idempotent() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            let page = [Self.person("p1", first: "Ann", households: ["h1", "h2"]), Self.email("e1", person: "p1"), Self.email("e2", person: "p1")]
            let snapshot = """
                SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT to_jsonb(p) - 'synced_at' AS j FROM people p UNION ALL
                  SELECT to_jsonb(e) - 'synced_at' FROM emails e UNION ALL
                  SELECT to_jsonb(l) - 'updated_at' FROM external_links l UNION ALL
                  SELECT to_jsonb(d) FROM edges d) s(j), LATERAL (SELECT j::text) t(x)
                """
            _ = try await apply(page, to: database)
            let first = try await rows(snapshot, in: database)
            _ = try await apply(page, to: database)
            let second = try await rows(snapshot, in: database)
            #expect(first == second)
            #expect(try await rows("SELECT count(*)::text FROM external_links", in: database) == ["6"])
        }
    }

    @Test("pages of one shape on one connection run prepared from the third on and store what unnamed statements store")
    func preparedPages() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            let store = CanonicalStore(logger: TestServices.logger)
            // Five new pages, then the first again with a newer copy of its person: the generic
            // plan must take the update path too.
            var pages = (1...5).map { n in [Self.person("p\(n)", first: "P\(n)", households: ["h\(n)"]), Self.email("e\(n)", person: "p\(n)")] }
            pages.append([Self.person("p1", first: "Ann", updated: "2024-02-01T00:00:00Z", households: ["h9"]), Self.email("e1", person: "p1")])
            for page in pages {
                let outcome = try await store.apply(CanonicalBatch(orgID: "org1", adapter: "pco", records: page), on: connection)
                #expect(outcome.rowsWritten == [.person: 1, .email: 1])
            }
            let prepared = try await connection.query("SELECT count(*) FROM pg_prepared_statements", logger: TestServices.logger)
                .collect().first?.decode(Int.self)
            #expect(prepared == 1, "one page shape, one prepared statement")
            #expect(try await rows("SELECT string_agg(first_name, ',' ORDER BY first_name) FROM people", in: database) == ["Ann,P2,P3,P4,P5"])
            // Every email's person column and edge point at its person's internal id.
            #expect(try await rows("""
                SELECT count(*)::text FROM emails e
                JOIN external_links le ON le.internal_id = e.id AND le.external_id LIKE 'e%'
                JOIN external_links lp ON lp.internal_id = e.person_id AND lp.external_id = 'p' || substr(le.external_id, 2)
                JOIN edges d ON d.source_id = e.id AND d.target_id = e.person_id AND d.relationship = 'person'
                """, in: database) == ["5"])
            // The newer copy replaced p1's household edge.
            #expect(try await rows("""
                SELECT string_agg(lh.external_id, ',') FROM edges d
                JOIN external_links lp ON lp.internal_id = d.source_id AND lp.external_id = 'p1'
                JOIN external_links lh ON lh.internal_id = d.target_id
                WHERE d.relationship = 'households'
                """, in: database) == ["h9"])
        }
    }

    @Test("an older copy of a record does not overwrite a newer one")
    func staleIgnored() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.person("p1", first: "New", updated: "2024-06-01T00:00:00Z")], to: database)
            let outcome = try await apply([Self.person("p1", first: "Old", updated: "2024-01-01T00:00:00Z")], to: database)
            #expect(outcome.rowsWritten[.person] == 0)
            #expect(try await rows("SELECT first_name FROM people", in: database) == ["New"])
        }
    }

    /// The second page's statement takes its snapshot before the first page commits, then waits for
    /// the first page's lock on the person's row. Its stale-edge delete must still see the edge the
    /// first page added (it queries with a snapshot of its own, migration 0004): the last writer's
    /// edges replace the others, as when each page wrote its edges in a statement of its own.
    @Test("two pages writing one record at once: the later one's edges replace the earlier one's")
    func concurrentWritersOfOneRecord() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.person("p1", first: "Ann", updated: "2024-01-01T00:00:00Z", households: ["h0"])], to: database)
            let first = try await database.connect()
            let second = try await database.connect()
            defer { Task { try? await first.close(); try? await second.close() } }
            let logger = TestServices.logger
            func page(_ household: String, updated: String) -> CanonicalBatch {
                CanonicalBatch(orgID: "org1", adapter: "pco", records: [Self.person("p1", first: "Ann", updated: updated, households: [household])])
            }
            try await first.query("BEGIN", logger: logger)
            _ = try await store.apply(page("h1", updated: "2024-01-02T00:00:00Z"), on: first)
            let store = store
            let waiting = Task {
                try await second.query("BEGIN", logger: logger)
                _ = try await store.apply(page("h2", updated: "2024-01-03T00:00:00Z"), on: second)
                try await second.query("COMMIT", logger: logger)
            }
            try await Task.sleep(for: .milliseconds(300))
            try await first.query("COMMIT", logger: logger)
            try await waiting.value
            let edges = try await rows("""
                SELECT l.external_id FROM edges e JOIN external_links l ON l.internal_id = e.target_id
                WHERE e.relationship = 'households' ORDER BY 1
                """, in: database)
            #expect(edges == ["h2"])
        }
    }

    @Test("an older copy of a record leaves its edges as they are, like its row")
    func staleCopyKeepsEdges() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.person("p1", first: "New", updated: "2024-06-01T00:00:00Z", households: ["h1"])], to: database)
            _ = try await apply([Self.person("p1", first: "Old", updated: "2024-01-01T00:00:00Z", households: ["h2"])], to: database)
            let edges = try await rows("""
                SELECT l.external_id FROM edges e JOIN external_links l ON l.internal_id = e.target_id WHERE e.relationship = 'households'
                """, in: database)
            #expect(edges == ["h1"])
        }
    }

    @Test("a relationship assertion replaces the edges of that relationship")
    func edgesReplaced() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            _ = try await apply([Self.person("p1", first: "Ann", updated: "2024-01-01T00:00:00Z", households: ["h1", "h2"])], to: database)
            _ = try await apply([Self.person("p1", first: "Ann", updated: "2024-01-02T00:00:00Z", households: ["h2"])], to: database)
            let edges = try await rows("""
                SELECT l.external_id FROM edges e JOIN external_links l ON l.internal_id = e.target_id WHERE e.relationship = 'households'
                """, in: database)
            #expect(edges == ["h2"])
        }
    }

    @Test("a page of 600 records across two tables is stored whole: every row, link and edge")
    func wholePage() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "store") { database in
            var records: [CanonicalRecord] = []
            for index in 0..<300 {
                records.append(Self.person("p\(index)", first: "P\(index)"))
                records.append(Self.email("e\(index)", person: "p\(index)"))
            }
            let outcome = try await apply(records, to: database)
            #expect(outcome.rowsWritten == [.person: 300, .email: 300])
            #expect(outcome.placeholdersCreated == 1, "campus c1")
            #expect(try await rows("SELECT count(*)::text FROM external_links", in: database) == ["601"])
            // Every email points at its own person, by column and by edge.
            #expect(try await rows("""
                SELECT count(*)::text FROM emails e
                JOIN external_links le ON le.internal_id = e.id JOIN external_links lp ON lp.internal_id = e.person_id
                JOIN edges d ON d.source_id = e.id AND d.target_id = e.person_id AND d.relationship = 'person'
                WHERE substr(le.external_id, 2) = substr(lp.external_id, 2)
                """, in: database) == ["300"])
        }
    }
}
