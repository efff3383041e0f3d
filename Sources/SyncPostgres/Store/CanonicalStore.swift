import Foundation
import Logging
import PostgresNIO
import SyncCore

/// Writes canonical batches to Postgres: links, rows and edges of one page in a constant number of
/// statements (one for the links, one per table the page touches, one for the edges), never one per row.
///
/// `apply` runs on a connection inside a transaction the caller owns, because the workflow journal
/// commits together with the page. Applying the same batch twice changes nothing but bookkeeping
/// (`synced_at`). Rows never go backwards: an update whose `source_updated_at` is older than the
/// stored one is ignored, so a late page or webhook cannot undo a newer change.
public struct CanonicalStore: Sendable {
    public struct Outcome: Sendable, Hashable {
        /// Rows inserted or updated, by kind.
        public var rowsWritten: [CanonicalKind: Int] = [:]
        /// Placeholder links created for referenced records not stored yet.
        public var placeholdersCreated: Int = 0
        public var statements: Int = 0

        public var totalRows: Int { rowsWritten.values.reduce(0, +) }
    }

    public var logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func apply(_ batch: CanonicalBatch, on connection: PostgresConnection) async throws -> Outcome {
        var outcome = Outcome()
        guard !batch.isEmpty else { return outcome }
        let internalIDs = try await resolveLinks(batch, on: connection, outcome: &outcome)
        for (kind, records) in batch.recordsByKind {
            outcome.rowsWritten[kind] = try await upsert(kind, records, batch: batch, ids: internalIDs, on: connection)
            outcome.statements += 1
        }
        try await replaceEdges(batch, ids: internalIDs, on: connection, outcome: &outcome)
        return outcome
    }

    // MARK: - Links

    /// Upserts the links of every record of the batch and of every record it references, and returns
    /// the internal id of each. Keys go in sorted order so concurrent pages lock links in one order.
    private func resolveLinks(
        _ batch: CanonicalBatch, on connection: PostgresConnection, outcome: inout Outcome
    ) async throws -> [ExternalKey: UUID] {
        var own: [ExternalKey: Bool] = [:]
        for record in batch.records {
            own[record.key] = true
            for key in record.referencedKeys where own[key] == nil { own[key] = false }
        }
        let keys = own.keys.sorted()
        let query = try PostgresQuery(unsafeSQL: Self.linksSQL, binds: postgresBindings(
                batch.orgID, batch.adapter, keys.map(\.externalType), keys.map(\.externalID),
                keys.map(\.kind.rawValue), keys.map { own[$0]! }
            ))
        let kindsByTypeAndID = Dictionary(uniqueKeysWithValues: keys.map { ([$0.externalType, $0.externalID], $0) })
        var ids: [ExternalKey: UUID] = [:]
        let rows = try await connection.queryUnlessClosed(query, logger: logger)
        for try await (type, id, internalID, createdPlaceholder) in rows.decode((String, String, UUID, Bool).self) {
            guard let key = kindsByTypeAndID[[type, id]] else { continue }
            ids[key] = internalID
            if createdPlaceholder { outcome.placeholdersCreated += 1 }
        }
        outcome.statements += 1
        precondition(ids.count == keys.count, "external_links upsert returned \(ids.count) of \(keys.count) keys")
        return ids
    }

    /// Links that exist and need no change are only read: no row lock, no new row version. Only
    /// keys missing from the statement's snapshot, and placeholders whose own record has arrived,
    /// go through the upsert. Upserting every key (the first version) locked each referenced link
    /// until COMMIT, so every page of emails, addresses, phone numbers and memberships queued behind
    /// the others on their people's links (external_links: median 18.7 ms, up to 390 ms a page in
    /// `cluster/bench/e2e-sync`), and wrote a dead row version per reference.
    ///
    /// Each key is looked up by primary key in a LATERAL subquery kept from flattening by `OFFSET 0`
    /// (see ``replaceEdges(_:ids:on:outcome:)`` for the plan a join got from stale statistics).
    ///
    /// A key missing from the snapshot may have been inserted by a transaction that committed since:
    /// ON CONFLICT DO UPDATE (rather than DO NOTHING) waits for it and RETURNs that row, so every key
    /// comes back. A link's internal id never changes, so a key read from the snapshot is current.
    static let linksSQL = """
        WITH input AS (
            SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[]) WITH ORDINALITY AS t(external_type, external_id, entity, own, n)
        ), existing AS (
            SELECT l.external_type, l.external_id, l.internal_id, l.is_placeholder
            FROM input i CROSS JOIN LATERAL (
                SELECT x.external_type, x.external_id, x.internal_id, x.is_placeholder FROM external_links x
                WHERE x.org_id = $1 AND x.adapter = $2 AND x.external_type = i.external_type AND x.external_id = i.external_id
                OFFSET 0
            ) l
            WHERE NOT (l.is_placeholder AND i.own)
        ), upserted AS (
            INSERT INTO external_links AS l (org_id, adapter, external_type, external_id, internal_id, entity, is_placeholder)
            SELECT $1, $2, i.external_type, i.external_id, gen_random_uuid(), i.entity, NOT i.own
            FROM input i
            WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.external_type = i.external_type AND e.external_id = i.external_id)
            ORDER BY i.n
            ON CONFLICT (org_id, adapter, external_type, external_id) DO UPDATE
                SET is_placeholder = l.is_placeholder AND excluded.is_placeholder,
                    updated_at = CASE WHEN l.is_placeholder AND NOT excluded.is_placeholder THEN now() ELSE l.updated_at END
            RETURNING external_type, external_id, internal_id, (xmax = 0 AND is_placeholder) AS created_placeholder
        )
        SELECT external_type, external_id, internal_id, false FROM existing
        UNION ALL
        SELECT external_type, external_id, internal_id, created_placeholder FROM upserted
        """

    // MARK: - Rows

    private func upsert(
        _ kind: CanonicalKind, _ records: [CanonicalRecord], batch: CanonicalBatch, ids: [ExternalKey: UUID],
        on connection: PostgresConnection
    ) async throws -> Int {
        let columns = kind.columns
        var binds = PostgresBindings(capacity: columns.count + 7)
        binds.append(batch.orgID)
        binds.append(records.map { ids[$0.key]! })
        for column in columns {
            binds.append(NullableTextArray(elements: records.map { record -> String? in
                switch record.values[column.name] ?? .null {
                case .null: nil
                case .text(let text): text
                case .reference(let target): ids[target]!.uuidString
                }
            }))
        }
        binds.append(NullableTextArray(elements: records.map(\.customFields)))
        binds.append(NullableTextArray(elements: records.map(\.raw)))
        binds.append(NullableTextArray(elements: records.map(\.sourceCreatedAt)))
        binds.append(NullableTextArray(elements: records.map(\.sourceUpdatedAt)))

        let query = PostgresQuery(unsafeSQL: Self.upsertSQL(for: kind), binds: binds)
        var written = 0
        for try await _ in try await connection.queryUnlessClosed(query, logger: logger).decode(Bool.self) { written += 1 }
        return written
    }

    /// `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` for one canonical table.
    static func upsertSQL(for kind: CanonicalKind) -> String {
        let columns = kind.columns
        let typed = columns.map(\.name)
        let all = ["id", "org_id"] + typed + ["custom_fields", "raw", "source_created_at", "source_updated_at", "deleted_at", "synced_at"]
        let aliases = ["id"] + columns.indices.map { "c\($0)" } + ["custom_fields", "raw", "created", "updated"]
        let arrayParameters = ["$2::uuid[]"] + columns.indices.map { "$\($0 + 3)::text[]" }
            + (0..<4).map { "$\(columns.count + 3 + $0)::text[]" }
        let selected = ["t.id", "$1"] + columns.enumerated().map { "t.c\($0.offset)::\($0.element.type.sqlType)" }
            + ["t.custom_fields::jsonb", "t.raw::jsonb", "t.created::timestamptz", "t.updated::timestamptz", "NULL", "now()"]
        let updates = (typed + ["custom_fields", "raw", "source_created_at", "source_updated_at", "deleted_at", "synced_at"])
            .map { "\($0) = excluded.\($0)" }
        let table = kind.table
        return """
            INSERT INTO \(table) AS r (\(all.joined(separator: ", ")))
            SELECT \(selected.joined(separator: ", "))
            FROM unnest(\(arrayParameters.joined(separator: ", "))) AS t(\(aliases.joined(separator: ", ")))
            ON CONFLICT (id) DO UPDATE SET \(updates.joined(separator: ", "))
            WHERE r.source_updated_at IS NULL OR excluded.source_updated_at IS NULL
               OR excluded.source_updated_at >= r.source_updated_at
            RETURNING true
            """
    }

    // MARK: - Edges

    /// Each relationship assertion replaces the edges of (source, relationship): stale targets are
    /// deleted and new ones inserted, in one statement.
    ///
    /// The stale edges are found by one primary-key lookup per asserted (source, relationship), in a
    /// LATERAL subquery that `OFFSET 0` keeps from being flattened into a join, and deleted by TID.
    /// Written as a plain join, the planner, working from statistics taken while the table was small
    /// (it grows from empty within seconds in a first sync), hash-joined against a scan of ALL of
    /// the org's edges for every page: 16 ms a page at 13,000 edges, growing with the org (seen with
    /// auto_explain in `cluster/bench/e2e-sync`; the sync was quadratic in the org's edges).
    private func replaceEdges(
        _ batch: CanonicalBatch, ids: [ExternalKey: UUID], on connection: PostgresConnection, outcome: inout Outcome
    ) async throws {
        var assertedSources: [UUID] = [], assertedRelationships: [String] = []
        var sources: [UUID] = [], relationships: [String] = [], targets: [UUID] = []
        var sourceKinds: [String] = [], targetKinds: [String] = []
        for record in batch.records {
            let source = ids[record.key]!
            for assertion in record.relationships {
                assertedSources.append(source)
                assertedRelationships.append(assertion.relationship)
                for target in Set(assertion.targets).sorted() {
                    sources.append(source)
                    relationships.append(assertion.relationship)
                    targets.append(ids[target]!)
                    sourceKinds.append(record.kind.rawValue)
                    targetKinds.append(target.kind.rawValue)
                }
            }
        }
        guard !assertedSources.isEmpty else { return }
        let query = try PostgresQuery(unsafeSQL: """
            WITH asserted AS (
                SELECT * FROM unnest($2::uuid[], $3::text[]) AS a(source_id, relationship)
            ), wanted AS (
                SELECT * FROM unnest($4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::text[])
                    AS w(source_id, relationship, target_id, source_entity, target_entity)
            ), stale AS (
                DELETE FROM edges e USING asserted a CROSS JOIN LATERAL (
                    SELECT x.ctid AS found FROM edges x
                    WHERE x.org_id = $1 AND x.source_id = a.source_id AND x.relationship = a.relationship
                    OFFSET 0
                ) f
                WHERE e.ctid = f.found
                  AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.source_id = e.source_id
                                  AND w.relationship = e.relationship AND w.target_id = e.target_id)
                RETURNING 1
            )
            INSERT INTO edges (org_id, source_id, relationship, target_id, source_entity, target_entity)
            SELECT $1, source_id, relationship, target_id, source_entity, target_entity FROM wanted
            ORDER BY source_id, relationship, target_id
            ON CONFLICT DO NOTHING
            """, binds: postgresBindings(batch.orgID, assertedSources, assertedRelationships, sources, relationships, targets,
                                 sourceKinds, targetKinds))
        try await connection.queryUnlessClosed(query, logger: logger)
        outcome.statements += 1
    }
}

/// Bindings from values of mixed types, in order, for queries built with `PostgresQuery(unsafeSQL:binds:)`.
public func postgresBindings(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
    var binds = PostgresBindings(capacity: values.count)
    for value in values { try binds.append(value) }
    return binds
}
