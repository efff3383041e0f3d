import PostgresNIO
import SyncCore

/// The one statement that stores a canonical page: its links, its rows in every table it touches and
/// its edges, in a single round trip.
///
/// Every external key of the page (its records' own and every key they reference) goes in once, in
/// sorted order, and is named everywhere else by its position in that list: a row's id, a reference
/// column's value, an edge's source and target. Postgres resolves the positions to internal ids
/// in the statement itself (`ids`, `resolved`), so the client neither reads the links back nor maps
/// ids itself.
///
/// Written as one statement per table with the links read back first (the previous form), a page of
/// 100 people with their 220 emails, phone numbers and addresses took 7 round trips and decoded about
/// 860 result rows; the client's share of a page (18 ms against Postgres' 30 ms, `syncengine bench
/// store`) was mostly those round trips and the decoding.
struct CanonicalPageStatement {
    /// The page as common table expressions: what a page step commits with its journal row.
    var effect: EffectStatement
    /// Keys the statement must resolve (see ``standaloneQuery``).
    var keyCount: Int
    /// The kinds written, in the order of ``standaloneQuery``'s row counts.
    var kinds: [CanonicalKind]

    init(batch: CanonicalBatch) {
        var own: [ExternalKey: Bool] = [:]
        for record in batch.records {
            own[record.key] = true
            for key in record.referencedKeys where own[key] == nil { own[key] = false }
        }
        // Sorted, so concurrent pages lock new links in one order.
        let keys = own.keys.sorted()
        var position: [ExternalKey: Int] = [:]
        position.reserveCapacity(keys.count)
        for (offset, key) in keys.enumerated() { position[key] = offset + 1 }  // WITH ORDINALITY counts from 1

        var expressions = [Self.links(
            orgID: batch.orgID, adapter: batch.adapter, types: keys.map(\.externalType), ids: keys.map(\.externalID),
            entities: keys.map(\.kind.rawValue), own: keys.map { own[$0]! }
        )]
        var kinds: [CanonicalKind] = []
        // Tables in one fixed order and each table's rows in key order (`rows`), like the links:
        // two statements writing the same records (Person pages of different partitions both carry
        // a shared household) then lock them in the same order. In the order of the page they
        // deadlocked now and then, and Postgres broke the tie only after deadlock_timeout (1 s).
        // The order of the expressions in the text is not enough: Postgres runs a data-modifying
        // expression when something reads it, and the unread ones at the end in reverse order, so
        // each table's INSERT waits for the one before (`after`).
        let byKind = batch.recordsByKind
        for kind in CanonicalKind.allCases {
            guard let records = byKind.first(where: { $0.kind == kind })?.records else { continue }
            expressions.append(Self.rows(kind, records, name: "rows_\(kinds.count)", after: kinds.isEmpty ? nil : "rows_\(kinds.count - 1)",
                                         orgID: batch.orgID, position: position))
            kinds.append(kind)
        }
        if let edges = Self.edges(batch, position: position, rowExpressions: kinds.indices.map { "rows_\($0)" }) {
            expressions.append(edges)
        }
        effect = EffectStatement(commonTableExpressions: expressions)
        keyCount = keys.count
        self.kinds = kinds
    }

    /// The page on its own, outside a journal step: one row with the keys resolved, the placeholders
    /// created and the rows written per kind (in ``kinds`` order).
    var standaloneQuery: PostgresQuery {
        var binds = PostgresBindings(capacity: 64)
        let expressions = effect.render(appendingTo: &binds)
        let rowCounts = kinds.indices.map { "(SELECT count(*) FROM rows_\($0))" }
        return PostgresQuery(unsafeSQL: """
            WITH \(expressions)
            SELECT (SELECT count(*) FROM ids), (SELECT count(*) FROM upserted WHERE inserted AND is_placeholder),
                   ARRAY[\(rowCounts.joined(separator: ", "))]::int8[]
            """, binds: binds)
    }

    /// `input`: the page's keys; `existing`: links already there; `upserted`: the missing ones and
    /// placeholders whose record has arrived; `ids`: every key's position, internal id, and whether
    /// a record was stored under it before this statement (only such a record can have edges);
    /// `resolved`: one row, those as two arrays indexed by position.
    ///
    /// The rows and edges read ids as `internal_ids[position]` from `resolved`, not by joining
    /// `ids`: planning, not executing, was the largest part of Postgres' time in an end-to-end sync
    /// of many small pages (`perf`: `standard_planner` 18 % of all CPU, execution 20 %), and a join
    /// per reference column made each table's INSERT a join of up to four relations. A key missing
    /// from `ids` (which ON CONFLICT DO UPDATE rules out) would be NULL at its own position, never
    /// another key's id (a record's own: its INSERT fails on the primary key), and a position found
    /// twice (two keys of one external type and id but different kinds, which no adapter should
    /// produce) counts once: an index into the arrays never shifts.
    ///
    /// Links that exist and need no change are only read: no row lock, no new row version. Upserting
    /// every key locked each referenced link until COMMIT, so every page of emails, addresses, phone
    /// numbers and memberships queued behind the others on their people's links (external_links:
    /// median 18.7 ms, up to 390 ms a page in `cluster/bench/e2e-sync`).
    ///
    /// Each key is looked up by primary key in a LATERAL subquery kept from flattening by `OFFSET 0`
    /// (see ``edges(_:position:rowExpressions:)`` for the plan a join got from stale statistics).
    ///
    /// A key missing from the statement's snapshot may have been inserted by a transaction that
    /// committed since: ON CONFLICT DO UPDATE (rather than DO NOTHING) waits for it and RETURNs that
    /// row, so every key comes back. A link's internal id never changes, so one read from the
    /// snapshot is current. A link inserted here (`xmax = 0`) has a new internal id, so no edges.
    static func links(
        orgID: String, adapter: String, types: [String], ids: [String], entities: [String], own: [Bool]
    ) -> EffectStatement {
        """
        \(expression: "input") AS (
            SELECT * FROM unnest(\(types)::text[], \(ids)::text[], \(entities)::text[], \(own)::bool[])
                WITH ORDINALITY AS t(external_type, external_id, entity, own, n)
        ), \(expression: "existing") AS (
            SELECT i.n, l.internal_id, NOT l.is_placeholder AS had_record
            FROM \(expression: "input") i CROSS JOIN LATERAL (
                SELECT x.internal_id, x.is_placeholder FROM external_links x
                WHERE x.org_id = \(orgID) AND x.adapter = \(adapter) AND x.external_type = i.external_type
                  AND x.external_id = i.external_id
                OFFSET 0
            ) l
            WHERE NOT (l.is_placeholder AND i.own)
        ), \(expression: "upserted") AS (
            INSERT INTO external_links AS l (org_id, adapter, external_type, external_id, internal_id, entity, is_placeholder)
            SELECT \(orgID), \(adapter), i.external_type, i.external_id, sync_new_id(), i.entity, NOT i.own
            FROM \(expression: "input") i
            WHERE NOT EXISTS (SELECT 1 FROM \(expression: "existing") e WHERE e.n = i.n)
            ORDER BY i.n
            ON CONFLICT (org_id, adapter, external_type, external_id) DO UPDATE
                SET is_placeholder = l.is_placeholder AND excluded.is_placeholder,
                    updated_at = CASE WHEN l.is_placeholder AND NOT excluded.is_placeholder THEN now() ELSE l.updated_at END
            RETURNING external_type, external_id, internal_id, xmax = 0 AS inserted, is_placeholder
        ), \(expression: "ids") AS (
            SELECT n, internal_id, had_record FROM \(expression: "existing")
            UNION ALL
            SELECT i.n, u.internal_id, NOT u.inserted
            FROM \(expression: "upserted") u JOIN \(expression: "input") i
                ON i.external_type = u.external_type AND i.external_id = u.external_id
        ), \(expression: "resolved") AS (
            SELECT array_agg(d.internal_id ORDER BY i.n) AS internal_ids,
                   array_agg(coalesce(d.had_record, false) ORDER BY i.n) AS had_records
            FROM \(expression: "input") i
            LEFT JOIN (SELECT DISTINCT ON (n) * FROM \(expression: "ids") ORDER BY n) d ON d.n = i.n
        )
        """
    }

    /// `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` for one canonical table: the id and
    /// every reference column read from `resolved` by position. Rows never go backwards: an update whose
    /// `source_updated_at` is older than the stored one is ignored.
    /// `after`: the expression of the table written before this one, which runs to its end before
    /// this one writes a row (a one-time filter on its row count).
    static func rows(
        _ kind: CanonicalKind, _ records: [CanonicalRecord], name: String, after previous: String? = nil, orgID: String,
        position: [ExternalKey: Int]
    ) -> EffectStatement {
        let columns = kind.columns
        let typed = columns.map(\.name)
        let common = ["custom_fields", "raw", "source_created_at", "source_updated_at", "deleted_at", "synced_at"]
        var selected = ["x.internal_ids[t.n::int4]"]
        for (offset, column) in columns.enumerated() {
            if case .reference = column.type {
                selected.append("x.internal_ids[t.c\(offset)::int4]")
            } else {
                selected.append("t.c\(offset)::\(column.type.sqlType)")
            }
        }
        selected += ["t.custom_fields::jsonb", "t.raw::jsonb", "t.created::timestamptz", "t.updated::timestamptz", "NULL", "now()"]
        let aliases = ["n"] + columns.indices.map { "c\($0)" } + ["custom_fields", "raw", "created", "updated"]
        let updates = (typed + common).map { "\($0) = excluded.\($0)" }

        var arrays = [NullableTextArray]()
        for column in columns {
            // A reference column holds positions and a typed column text: a value of the other form
            // (which no adapter should produce) is NULL, never read as something it is not.
            let isReference = if case .reference = column.type { true } else { false }
            arrays.append(NullableTextArray(elements: records.map { record -> String? in
                switch record.values[column.name] ?? .null {
                case .null: nil
                case .text(let text): isReference ? nil : text
                case .reference(let target): isReference ? String(position[target]!) : nil
                }
            }))
        }
        arrays.append(NullableTextArray(elements: records.map(\.customFields)))
        arrays.append(NullableTextArray(elements: records.map(\.raw)))
        arrays.append(NullableTextArray(elements: records.map(\.sourceCreatedAt)))
        arrays.append(NullableTextArray(elements: records.map(\.sourceUpdatedAt)))

        var sql = EffectStatement.StringInterpolation(literalCapacity: 1024, interpolationCount: arrays.count + 4)
        sql.appendInterpolation(expression: name)
        sql.appendLiteral("""
             AS (
                INSERT INTO \(kind.table) AS r (\((["id", "org_id"] + typed + common).joined(separator: ", ")))
                SELECT \(selected[0]), 
            """)
        sql.appendInterpolation(orgID)
        sql.appendLiteral(", \(selected.dropFirst().joined(separator: ", "))\n    FROM unnest(")
        sql.appendInterpolation(records.map { position[$0.key]! })
        sql.appendLiteral("::int8[]")
        for array in arrays {
            sql.appendLiteral(", ")
            sql.appendInterpolation(array)
            sql.appendLiteral("::text[]")
        }
        sql.appendLiteral(") AS t(\(aliases.joined(separator: ", ")))\n    CROSS JOIN ")
        sql.appendInterpolation(expression: "resolved")
        sql.appendLiteral(" x\n")
        if let previous {
            sql.appendLiteral("    WHERE (SELECT count(*) FROM ")
            sql.appendInterpolation(expression: previous)
            sql.appendLiteral(") >= 0\n")
        }
        // Key order (positions follow the sorted keys): see init.
        sql.appendLiteral("    ORDER BY t.n\n")
        sql.appendLiteral("""
                ON CONFLICT (id) DO UPDATE SET \(updates.joined(separator: ", "))
                WHERE r.source_updated_at IS NULL OR excluded.source_updated_at IS NULL
                   OR excluded.source_updated_at >= r.source_updated_at
                RETURNING id
            )
            """)
        return EffectStatement(stringInterpolation: sql)
    }

    /// Each relationship assertion replaces the edges of (source, relationship): stale targets are
    /// deleted and new ones inserted, for the records whose row this statement wrote (`written`):
    /// a record older than its stored copy leaves the row as it is, and its edges too.
    ///
    /// The stale edges are deleted by `sync_delete_stale_edges` (migration 0004), called once the
    /// rows are written and locked (its arguments read `written`): a VOLATILE function queries with
    /// a snapshot of its own, so it sees edges committed by a transaction that wrote the same record
    /// while this statement waited for that record's row. A lookup on this statement's snapshot would
    /// not, and both pages' edges would survive. The new edges are inserted after the call (the
    /// LATERAL reference to `stale` orders them). Sources whose link this statement created cannot
    /// have edges yet (in a first sync, every source), and when none is left the function is not
    /// called at all; when no key of the page had a record, `asserted` is not even read (CASE
    /// evaluates its branches in order: 0.3 ms of a 100-people page's 9 ms).
    static func edges(_ batch: CanonicalBatch, position: [ExternalKey: Int], rowExpressions: [String]) -> EffectStatement? {
        var assertedSources: [Int] = [], assertedRelationships: [String] = []
        var sources: [Int] = [], relationships: [String] = [], targets: [Int] = []
        var sourceKinds: [String] = [], targetKinds: [String] = []
        for record in batch.records {
            let source = position[record.key]!
            for assertion in record.relationships {
                assertedSources.append(source)
                assertedRelationships.append(assertion.relationship)
                // Most assertions name one target: no set to build for those.
                let distinct = assertion.targets.count < 2 ? assertion.targets : Array(Set(assertion.targets)).sorted()
                for target in distinct {
                    sources.append(source)
                    relationships.append(assertion.relationship)
                    targets.append(position[target]!)
                    sourceKinds.append(record.kind.rawValue)
                    targetKinds.append(target.kind.rawValue)
                }
            }
        }
        guard !assertedSources.isEmpty else { return nil }
        // `written`: one row, whether each position's record was written, as an array indexed by
        // position like `resolved` (filtering with `IN (SELECT id FROM rows…)` was planned as a
        // rescan of the page's unnest per written row: 36 ms a page).
        var sql = EffectStatement.StringInterpolation(literalCapacity: 2048, interpolationCount: 16)
        sql.appendInterpolation(expression: "written")
        sql.appendLiteral("""
             AS (
                SELECT array_agg(w.id IS NOT NULL ORDER BY p.n) AS flags
                FROM 
            """)
        sql.appendInterpolation(expression: "resolved")
        sql.appendLiteral(" x CROSS JOIN LATERAL unnest(x.internal_ids) WITH ORDINALITY AS p(internal_id, n)\n    LEFT JOIN (")
        for (offset, name) in rowExpressions.enumerated() {
            sql.appendLiteral(offset == 0 ? "SELECT id FROM " : " UNION ALL SELECT id FROM ")
            sql.appendInterpolation(expression: name)
        }
        sql.appendLiteral(") w ON w.id = p.internal_id\n)")
        let rest: EffectStatement = """
            \(expression: "asserted") AS (
                SELECT x.internal_ids[a.source::int4] AS source_id, a.relationship, x.had_records[a.source::int4] AS had_record
                FROM unnest(\(assertedSources)::int8[], \(assertedRelationships)::text[]) AS a(source, relationship)
                CROSS JOIN \(expression: "resolved") x CROSS JOIN \(expression: "written") y
                WHERE y.flags[a.source::int4]
            ), \(expression: "wanted") AS (
                SELECT x.internal_ids[w.source::int4] AS source_id, w.relationship, x.internal_ids[w.target::int4] AS target_id,
                       w.source_entity, w.target_entity
                FROM unnest(\(sources)::int8[], \(relationships)::text[], \(targets)::int8[], \(sourceKinds)::text[], \(targetKinds)::text[])
                    AS w(source, relationship, target, source_entity, target_entity)
                CROSS JOIN \(expression: "resolved") x CROSS JOIN \(expression: "written") y
                WHERE y.flags[w.source::int4]
            ), \(expression: "stale") AS (
                SELECT CASE WHEN NOT (SELECT true = ANY(had_records) FROM \(expression: "resolved")) THEN 0
                    WHEN EXISTS (SELECT 1 FROM \(expression: "asserted") WHERE had_record)
                    THEN sync_delete_stale_edges(
                        \(batch.orgID),
                        ARRAY(SELECT source_id FROM \(expression: "asserted") WHERE had_record ORDER BY source_id, relationship),
                        ARRAY(SELECT relationship FROM \(expression: "asserted") WHERE had_record ORDER BY source_id, relationship),
                        ARRAY(SELECT source_id FROM \(expression: "wanted") ORDER BY source_id, relationship, target_id),
                        ARRAY(SELECT relationship FROM \(expression: "wanted") ORDER BY source_id, relationship, target_id),
                        ARRAY(SELECT target_id FROM \(expression: "wanted") ORDER BY source_id, relationship, target_id))
                    ELSE 0 END AS deleted
            ), \(expression: "edges_written") AS (
                INSERT INTO edges (org_id, source_id, relationship, target_id, source_entity, target_entity)
                SELECT \(batch.orgID), w.source_id, w.relationship, w.target_id, w.source_entity, w.target_entity
                FROM \(expression: "stale") s CROSS JOIN LATERAL (
                    SELECT * FROM \(expression: "wanted") WHERE s.deleted >= 0
                ) w
                ORDER BY w.source_id, w.relationship, w.target_id
                ON CONFLICT DO NOTHING
                RETURNING 1
            )
            """
        return EffectStatement(commonTableExpressions: [EffectStatement(stringInterpolation: sql), rest])
    }
}
