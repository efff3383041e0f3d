import Foundation
import Logging
import PostgresNIO
import SyncCore
import SyncPostgres

/// The store benchmark's baseline: the same rows written the barest way — per page, one
/// `INSERT ... SELECT FROM unnest(...) ON CONFLICT (id) DO UPDATE` per table, same columns and casts,
/// jsonb `raw` included, into copies of the canonical tables — with the arrays built beforehand and
/// no links, references or edges to resolve. What the canonical store adds on top is its cost.
struct BareUpsertBaseline: Sendable {
    /// One table's share of one page, as bind-ready arrays.
    struct TableRows: Sendable {
        var kind: CanonicalKind
        var ids: [UUID]
        var columns: [[String?]]
        var customFields: [String?]
        var raw: [String?]
        var created: [String?]
        var updated: [String?]
    }

    /// Pages, each a list of tables.
    var pages: [[TableRows]]
    var logger: Logger

    /// An id laid out like the engine's (migration 0005: the creation time in milliseconds first, then
    /// version 7 and random bits), so that both sides fill their indexes in the same pattern.
    static func timeOrderedID(at date: Date) -> UUID {
        let milliseconds = UInt64(date.timeIntervalSince1970 * 1_000)
        var bytes = UUID().uuid
        withUnsafeMutableBytes(of: &bytes) { raw in
            for index in 0..<6 { raw[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
            raw[6] = 0x70
        }
        return UUID(uuid: bytes)
    }

    /// Builds the arrays from transformed batches; references get fixed made-up ids (the bare
    /// baseline does not resolve them, which is part of what it leaves out).
    init(batches: [CanonicalBatch], logger: Logger) {
        var ids: [ExternalKey: UUID] = [:]
        func id(_ key: ExternalKey) -> UUID {
            if let known = ids[key] { return known }
            let new = Self.timeOrderedID(at: Date())
            ids[key] = new
            return new
        }
        pages = batches.map { batch in
            batch.recordsByKind.map { kind, records in
                TableRows(
                    kind: kind,
                    ids: records.map { id($0.key) },
                    columns: kind.columns.map { column in
                        records.map { record -> String? in
                            switch record.values[column.name] ?? .null {
                            case .null: nil
                            case .text(let text): text
                            case .reference(let target): id(target).uuidString
                            }
                        }
                    },
                    customFields: records.map(\.customFields), raw: records.map(\.raw),
                    created: records.map(\.sourceCreatedAt), updated: records.map(\.sourceUpdatedAt)
                )
            }
        }
        self.logger = logger
    }

    var rowCount: Int { pages.reduce(0) { $0 + $1.reduce(0) { $0 + $1.ids.count } } }

    static func table(_ kind: CanonicalKind) -> String { "bare_\(kind.table)" }

    /// `CREATE TABLE bare_x (LIKE x INCLUDING ALL)` for every kind the pages touch.
    var setupStatements: [String] {
        Set(pages.flatMap { $0.map(\.kind) }).sorted { $0.table < $1.table }.map {
            "CREATE TABLE \(Self.table($0)) (LIKE \($0.table) INCLUDING ALL)"
        }
    }

    var truncateStatement: String {
        "TRUNCATE " + Set(pages.flatMap { $0.map(\.kind) }).map(Self.table).sorted().joined(separator: ", ")
    }

    /// Writes every page, each in its own transaction; returns the rows written.
    func write(client: PostgresClient, orgID: String) async throws -> Int {
        var written = 0
        for page in pages {
            written += try await client.withTransaction(logger: logger) { connection in
                var rows = 0
                for table in page {
                    var binds = PostgresBindings(capacity: table.columns.count + 6)
                    binds.append(orgID)
                    binds.append(table.ids)
                    for column in table.columns { binds.append(NullableTextArray(elements: column)) }
                    for common in [table.customFields, table.raw, table.created, table.updated] {
                        binds.append(NullableTextArray(elements: common))
                    }
                    let result = try await connection.query(PostgresQuery(unsafeSQL: Self.upsertSQL(table.kind), binds: binds), logger: logger)
                    for try await _ in result.decode(Bool.self) { rows += 1 }
                }
                return rows
            }
        }
        return written
    }

    static func upsertSQL(_ kind: CanonicalKind) -> String {
        let columns = kind.columns
        let names = ["id", "org_id"] + columns.map(\.name)
            + ["custom_fields", "raw", "source_created_at", "source_updated_at", "deleted_at", "synced_at"]
        let parameters = ["$2::uuid[]"] + columns.indices.map { "$\($0 + 3)::text[]" }
            + (0..<4).map { "$\(columns.count + 3 + $0)::text[]" }
        let aliases = ["id"] + columns.indices.map { "c\($0)" } + ["custom_fields", "raw", "created", "updated"]
        let selected = ["t.id", "$1"] + columns.enumerated().map { "t.c\($0.offset)::\($0.element.type.sqlType)" }
            + ["t.custom_fields::jsonb", "t.raw::jsonb", "t.created::timestamptz", "t.updated::timestamptz", "NULL", "now()"]
        let updates = names.dropFirst(2).map { "\($0) = excluded.\($0)" }
        return """
            INSERT INTO \(table(kind)) (\(names.joined(separator: ", ")))
            SELECT \(selected.joined(separator: ", "))
            FROM unnest(\(parameters.joined(separator: ", "))) AS t(\(aliases.joined(separator: ", ")))
            ON CONFLICT (id) DO UPDATE SET \(updates.joined(separator: ", "))
            RETURNING true
            """
    }
}
