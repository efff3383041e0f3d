import Foundation
import SyncCore

/// Turns PCO JSON:API documents into canonical records.
///
/// Primary resources become records of the listed entity; included resources whose type belongs to
/// a manifest entity (emails, phone numbers, addresses included with people) become records of their
/// own entity, so one page can fill several tables. Relationship data becomes typed references and
/// relationship assertions (edges); records of a nested endpoint that do not name their parent get
/// it from the URL they were listed under.
public struct PCOTransformer: Sendable {
    public let manifest: EntityManifest
    private let typeIndex: [String: (entity: EntityDefinition, kind: CanonicalKind)]
    /// Each kind's columns with where each comes from, worked out once rather than per record.
    private let columnSources: [CanonicalKind: [(column: CanonicalColumn, source: PCOFieldSource)]]

    public init(manifest: EntityManifest = PCOManifest.manifest) {
        self.manifest = manifest
        var index: [String: (EntityDefinition, CanonicalKind)] = [:]
        for entity in manifest.entities {
            guard let kind = CanonicalKind(rawValue: entity.name) else { continue }
            for typeName in entity.typeNames { index[typeName] = (entity, kind) }
        }
        typeIndex = index
        var sources: [CanonicalKind: [(column: CanonicalColumn, source: PCOFieldSource)]] = [:]
        for kind in CanonicalKind.allCases {
            sources[kind] = kind.columns.map { ($0, PCOFieldSource.source(of: $0, in: kind)) }
        }
        columnSources = sources
    }

    /// The canonical key of a JSON:API identifier, or nil when its type is not a synced entity.
    public func key(for identifier: ResourceIdentifier) -> ExternalKey? {
        guard let (entity, kind) = typeIndex[identifier.type] else { return nil }
        return ExternalKey(kind: kind, externalType: entity.primaryTypeName, externalID: identifier.id)
    }

    /// Transforms one page of `entity`. `parent` is the record a nested endpoint was listed under.
    public func transform(
        _ document: JSONAPIDocument, entity: EntityDefinition, orgID: String, parent: ResourceIdentifier? = nil
    ) throws(PCOTransformError) -> CanonicalBatch {
        var batch = CanonicalBatch(orgID: orgID, adapter: manifest.adapter)
        let included = IncludedIndex(document.included)
        // Included records first, so a primary record of the same key (the fresher copy) wins.
        for resource in document.included {
            guard typeIndex[resource.type] != nil, !resource.attributes.isEmpty else { continue }
            batch.add(try record(from: resource, included: included, parent: nil, orgID: orgID))
        }
        for resource in document.resources {
            guard let target = typeIndex[resource.type], target.entity.name == entity.name else {
                throw PCOTransformError(
                    code: .unexpectedType, org: orgID, entity: entity.name, resource: resource.identifier.description,
                    detail: "a \(entity.name) page returned a resource of type \(resource.type)"
                )
            }
            let nestedParent = entity.endpoint.parent.flatMap { parentEntity in
                parent.map { (relationshipTo(parentEntity, in: entity), $0) }
            }
            batch.add(try record(from: resource, included: included, parent: nestedParent, orgID: orgID))
        }
        return batch
    }

    /// The relationship through which `entity` points at its nesting parent (Membership -> group).
    private func relationshipTo(_ parentEntity: String, in entity: EntityDefinition) -> String? {
        entity.relationships.first { $0.target == parentEntity }?.name
    }

    private func record(
        from resource: JSONAPIResource, included: IncludedIndex, parent: (String?, ResourceIdentifier)?,
        orgID: String
    ) throws(PCOTransformError) -> CanonicalRecord {
        let (entity, kind) = typeIndex[resource.type]!
        let key = ExternalKey(kind: kind, externalType: entity.primaryTypeName, externalID: resource.id)

        var relationships = resource.relationships
        if let (name, parentIdentifier) = parent, let name, relationships[name]?.data == nil {
            relationships[name] = ResourceRelationship(data: .toOne(parentIdentifier))
        }

        var values: [String: CanonicalValue] = [:]
        let columns = columnSources[kind] ?? []
        values.reserveCapacity(columns.count)
        for (column, source) in columns {
            switch source {
            case .attribute(let name):
                values[column.name] = Self.value(resource.attributes[name], as: column.type)
            case .relationship(let name):
                if case .toOne(let target)? = relationships[name]?.data, let target, let targetKey = self.key(for: target) {
                    values[column.name] = .reference(targetKey)
                } else {
                    values[column.name] = .null
                }
            }
        }

        // Edges come from the relationships the manifest declares; the others stay in `raw`. A
        // relationship the document did not list (no `data`) asserts nothing, an empty one clears.
        var assertions: [RelationshipAssertion] = []
        for declared in entity.relationships {
            guard let data = relationships[declared.name]?.data else { continue }
            assertions.append(RelationshipAssertion(
                relationship: declared.name, targets: data.identifiers.compactMap(self.key(for:))
            ))
        }

        // The resource's text as it came (jsonb normalises it); written anew only for a resource
        // that was not decoded from text.
        let raw = resource.sourceText ?? JSONText.resource(resource)
        return CanonicalRecord(
            key: key,
            values: values,
            customFields: customFields(of: resource, included: included),
            raw: raw,
            sourceCreatedAt: resource.attributes["created_at"]?.stringValue,
            sourceUpdatedAt: resource.attributes["updated_at"]?.stringValue,
            relationships: assertions
        )
    }

    /// PCO custom fields arrive as included `FieldDatum` resources: `{field_definition_id: value}`.
    private func customFields(of resource: JSONAPIResource, included: IncludedIndex) -> String {
        guard let data = resource.relationships["field_data"]?.data else { return "{}" }
        var fields: [String: JSONValue] = [:]
        for identifier in data.identifiers {
            guard let datum = included[identifier],
                  let definition = datum.relationships["field_definition"]?.data?.identifiers.first
            else { continue }
            fields[definition.id] = datum.attributes["value"] ?? .null
        }
        guard !fields.isEmpty else { return "{}" }
        var output = ""
        JSONText.writeObject(fields, into: &output) { JSONText.write($0, into: &$1) }
        return output
    }

    /// The text form of an attribute for a column type; values of the wrong JSON type become NULL
    /// (the raw document keeps them).
    static func value(_ json: JSONValue?, as type: CanonicalColumn.ColumnType) -> CanonicalValue {
        guard let json, !json.isNull else { return .null }
        let text: String?
        switch type {
        case .text, .date, .timestamp:
            text = json.stringValue
        case .integer:
            text = json.intValue.map { String($0) }
        case .double:
            text = json.doubleValue.map { String($0) }
        case .boolean:
            text = json.boolValue.map { $0 ? "true" : "false" }
        case .reference:
            text = nil
        }
        return text.map(CanonicalValue.text) ?? .null
    }
}

/// A resource that cannot become a canonical record.
public struct PCOTransformError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unexpectedType = "unexpected_type"
        case unencodable
    }

    public var code: Code
    public var org: String
    public var entity: String
    public var resource: String
    public var detail: String

    public var description: String { "org \(org), \(entity) \(resource): \(detail) [\(code.rawValue)]" }
}
