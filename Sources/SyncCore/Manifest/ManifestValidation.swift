/// A manifest that cannot be used, with the entity and the problem named.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case emptyEntityName = "empty_entity_name"
        case duplicateEntity = "duplicate_entity"
        case duplicateTypeName = "duplicate_type_name"
        case noTypeNames = "no_type_names"
        case invalidPerPage = "invalid_per_page"
        case invalidPath = "invalid_path"
        case unknownParent = "unknown_parent"
        case nestedPathWithoutPlaceholder = "nested_path_without_placeholder"
        case defaultOrderNotOrderable = "default_order_not_orderable"
        case defaultIncludeNotIncludable = "default_include_not_includable"
        case updatedAtFilterWithoutUpdatedAt = "updated_at_filter_without_updated_at"
    }

    public var code: Code
    public var adapter: String
    public var entity: String
    public var detail: String

    public var description: String {
        "manifest '\(adapter)', entity '\(entity)': \(detail) [\(code.rawValue)]"
    }
}

extension EntityManifest {
    /// Checks everything the graph builder and the sync workflows rely on, reporting every problem found.
    /// Unknown relationship targets are reported by the graph builder, which names them together.
    public func validationErrors() -> [ManifestError] {
        var errors: [ManifestError] = []
        func fail(_ code: ManifestError.Code, _ entity: String, _ detail: String) {
            errors.append(ManifestError(code: code, adapter: adapter, entity: entity, detail: detail))
        }
        let names = Set(entities.map(\.name))
        var seenNames: Set<String> = []
        var typeOwners: [String: String] = [:]
        for entity in entities {
            let name = entity.name
            if name.isEmpty { fail(.emptyEntityName, name, "the entity has no name") }
            if !seenNames.insert(name).inserted { fail(.duplicateEntity, name, "the entity is declared more than once") }
            if entity.typeNames.isEmpty { fail(.noTypeNames, name, "no JSON:API type names are listed") }
            for typeName in entity.typeNames {
                if let owner = typeOwners[typeName], owner != name {
                    fail(.duplicateTypeName, name, "type name '\(typeName)' is also claimed by '\(owner)'")
                }
                typeOwners[typeName] = name
            }
            let endpoint = entity.endpoint
            if !(1...100).contains(endpoint.perPage) {
                fail(.invalidPerPage, name, "per_page \(endpoint.perPage) is outside 1...100")
            }
            if !endpoint.path.hasPrefix("/") { fail(.invalidPath, name, "path '\(endpoint.path)' must start with '/'") }
            if let parent = endpoint.parent {
                if !names.contains(parent) { fail(.unknownParent, name, "nested under unknown entity '\(parent)'") }
                if endpoint.path.firstRange(of: ListEndpoint.parentPlaceholder) == nil {
                    fail(.nestedPathWithoutPlaceholder, name,
                         "nested path '\(endpoint.path)' lacks \(ListEndpoint.parentPlaceholder)")
                }
            }
            if let order = endpoint.defaultOrder {
                let attribute = order.hasPrefix("-") ? String(order.dropFirst()) : order
                if !endpoint.orderable.contains(attribute) {
                    fail(.defaultOrderNotOrderable, name, "default order '\(order)' is not among the orderable attributes")
                }
            }
            for include in endpoint.defaultInclude where !endpoint.includable.contains(include) {
                fail(.defaultIncludeNotIncludable, name, "default include '\(include)' is not includable")
            }
            if endpoint.filterable.contains("updated_at") && !entity.hasUpdatedAt {
                fail(.updatedAtFilterWithoutUpdatedAt, name, "filters on updated_at but declares no updated_at attribute")
            }
        }
        return errors
    }
}
