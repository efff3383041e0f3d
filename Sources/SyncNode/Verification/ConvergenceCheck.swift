import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// Compares an org's canonical rows with the source's data set (DESIGN §5 invariant 3): the same ids,
/// the same attribute values, the same relationships, and no extras.
///
/// The source side is the simulator's `/__sim/dataset/{org}` document:
/// `{"org": id, "entities": {"Person": {"<id>": {"attributes": {...}, "relationships": {name: {type,id}|[...]|null}}}}}`.
public struct ConvergenceCheck: Sendable {
    public struct Difference: Sendable, Hashable, Codable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable, Codable { case missing, extra, changedAttributes = "changed_attributes", changedRelationship = "changed_relationship" }
        public var kind: Kind
        public var entity: String
        public var id: String
        public var detail: String
        public var description: String { "\(kind.rawValue) \(entity)/\(id)\(detail.isEmpty ? "" : ": \(detail)")" }
    }

    public struct Report: Sendable, Hashable, Codable {
        public var org: String
        /// Records compared, by entity.
        public var records: [String: Int]
        public var differences: [Difference]
        public var converged: Bool { differences.isEmpty }
    }

    public let manifest: EntityManifest
    public let logger: Logger

    public init(manifest: EntityManifest, logger: Logger) {
        self.manifest = manifest
        self.logger = logger
    }

    struct SourceRecord: Decodable {
        var attributes: [String: JSONValue]
        var relationships: [String: RelationshipData?]?
    }

    struct Dataset: Decodable {
        var org: String
        var entities: [String: [String: SourceRecord]]
    }

    /// Checks `orgID` against a data set document.
    public func check(orgID: String, dataset data: Data, postgres: PostgresClient, limit: Int = 50) async throws -> Report {
        let dataset = try JSONDecoder().decode(Dataset.self, from: data)
        var differences: [Difference] = []
        var counts: [String: Int] = [:]
        for entity in manifest.entities {
            guard let kind = CanonicalKind(rawValue: entity.name) else { continue }
            let source = dataset.entities[entity.name] ?? [:]
            counts[entity.name] = source.count
            let stored = try await canonicalRows(kind: kind, entity: entity, orgID: orgID, postgres: postgres)
            let edges = try await canonicalEdges(entity: entity.name, orgID: orgID, postgres: postgres)
            for (id, record) in source {
                guard let attributes = stored[id] else {
                    differences.append(.init(kind: .missing, entity: entity.name, id: id, detail: ""))
                    continue
                }
                if attributes != record.attributes {
                    let changed = Set(attributes.keys).union(record.attributes.keys).filter { attributes[$0] != record.attributes[$0] }.sorted()
                    differences.append(.init(kind: .changedAttributes, entity: entity.name, id: id,
                                             detail: changed.map { "\($0): stored \(attributes[$0].map(String.init(describing:)) ?? "nothing"), source \(record.attributes[$0].map(String.init(describing:)) ?? "nothing")" }.joined(separator: "; ")))
                }
                for relationship in entity.relationships {
                    guard let sourceData = record.relationships?[relationship.name] else { continue }
                    let expected = Set((sourceData?.identifiers ?? []).map(\.id))
                    let actual = edges[id]?[relationship.name] ?? []
                    if expected != actual {
                        differences.append(.init(kind: .changedRelationship, entity: entity.name, id: id,
                                                 detail: "\(relationship.name): stored \(actual.sorted()), source \(expected.sorted())"))
                    }
                }
            }
            for id in stored.keys where source[id] == nil {
                differences.append(.init(kind: .extra, entity: entity.name, id: id, detail: ""))
            }
        }
        differences.sort { ($0.entity, $0.id, $0.kind.rawValue) < ($1.entity, $1.id, $1.kind.rawValue) }
        if differences.count > limit { differences = Array(differences.prefix(limit)) }
        return Report(org: orgID, records: counts, differences: differences)
    }

    /// Live rows of one canonical table: external id -> the source attributes kept in `raw`.
    private func canonicalRows(kind: CanonicalKind, entity: EntityDefinition, orgID: String, postgres: PostgresClient) async throws -> [String: [String: JSONValue]] {
        let rows = try await postgres.queryUnlessClosed(PostgresQuery(unsafeSQL: """
            SELECT l.external_id, coalesce(t.raw->'attributes', '{}'::jsonb)::text, (to_jsonb(t) - 'raw' - 'custom_fields')::text
            FROM \(kind.table) t JOIN external_links l ON l.internal_id = t.id
            WHERE t.org_id = $1 AND t.deleted_at IS NULL AND l.external_type = $2
            """, binds: try postgresBindings(orgID, entity.primaryTypeName)), logger: logger)
        // Typed columns named after a source attribute must hold that attribute's value too (text,
        // integers, booleans, dates: the types whose JSON form is the source's own).
        let comparable = kind.columns.filter {
            switch $0.type {
            case .text, .integer, .boolean, .date: true
            default: false
            }
        }.map(\.name)
        var result: [String: [String: JSONValue]] = [:]
        let decoder = JSONDecoder()
        for (id, attributes, typedRow) in try rows.decode((String, String, String).self) {
            var stored = try decoder.decode([String: JSONValue].self, from: Data(attributes.utf8))
            let typed = try decoder.decode([String: JSONValue].self, from: Data(typedRow.utf8))
            for column in comparable {
                guard let source = stored[column], let value = typed[column], value != source else { continue }
                // The raw copy agrees with the source but the typed column does not: report the column.
                stored["\(column) (typed column)"] = value
            }
            result[id] = stored
        }
        return result
    }

    /// Edges of an entity's records: source external id -> relationship -> target external ids.
    private func canonicalEdges(entity: String, orgID: String, postgres: PostgresClient) async throws -> [String: [String: Set<String>]] {
        let rows = try await postgres.queryUnlessClosed("""
            SELECT ls.external_id, e.relationship, lt.external_id
            FROM edges e JOIN external_links ls ON ls.internal_id = e.source_id JOIN external_links lt ON lt.internal_id = e.target_id
            WHERE e.org_id = \(orgID) AND e.source_entity = \(entity)
            """, logger: logger)
        var result: [String: [String: Set<String>]] = [:]
        for (source, relationship, target) in try rows.decode((String, String, String).self) {
            result[source, default: [:]][relationship, default: []].insert(target)
        }
        return result
    }
}
