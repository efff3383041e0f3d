/// Builds JSON:API documents from a parsed ``JSONValue`` (see ``JSONParser`` for why the hot path
/// does not go through `Codable`). The rules are those of the `Codable` conformances beside the
/// types: required `data`; `"data": null` on a relationship kept distinct from no `data` key; ids
/// as strings or integers; absent or null optional members are empty. A value of the wrong shape is
/// an error naming its path in the document. Paths are autoclosures, written out only for an error:
/// built eagerly for every resource and relationship, they were thousands of string interpolations
/// a page.
extension JSONAPIDocument {
    @inline(never)  // see JSONParser
    public init(json: JSONValue) throws {
        let root = try JSONShape.object(json, at: "$")
        guard let primary = root["data"] else { throw JSONAPIShapeError(path: "$.data", problem: "is missing") }
        switch primary {
        case .null: data = .one(nil)
        case .array(let elements): data = .many(try JSONShape.resources(elements, at: "$.data"))
        default: data = .one(try JSONAPIResource(json: primary, at: "$.data"))
        }
        included = try JSONShape.optionalArray(root["included"], at: "$.included")
            .map { elements in try JSONShape.resources(elements, at: "$.included") } ?? []
        links = try JSONShape.optionalObject(root["links"], at: "$.links").map { members in
            try Links(self: JSONShape.optionalString(members["self"], at: "$.links.self"),
                      next: JSONShape.optionalString(members["next"], at: "$.links.next"),
                      prev: JSONShape.optionalString(members["prev"], at: "$.links.prev"))
        }
        meta = try JSONShape.optionalObject(root["meta"], at: "$.meta").map { members in
            try Meta(json: members)
        }
    }
}

extension JSONAPIDocument.Meta {
    init(json members: [String: JSONValue]) throws {
        totalCount = try JSONShape.optionalInt(members["total_count"], at: "$.meta.total_count")
        count = try JSONShape.optionalInt(members["count"], at: "$.meta.count")
        next = try Self.offset(members["next"], at: "$.meta.next")
        prev = try Self.offset(members["prev"], at: "$.meta.prev")
        canOrderBy = try JSONShape.optionalStrings(members["can_order_by"], at: "$.meta.can_order_by")
        canQueryBy = try JSONShape.optionalStrings(members["can_query_by"], at: "$.meta.can_query_by")
        canInclude = try JSONShape.optionalStrings(members["can_include"], at: "$.meta.can_include")
        parent = try JSONShape.optionalObject(members["parent"], at: "$.meta.parent")
            .map { parent in try ResourceIdentifier(json: parent, at: "$.meta.parent") }
    }

    private static func offset(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> JSONAPIDocument.Offset? {
        guard let members = try JSONShape.optionalObject(value, at: path()) else { return nil }
        guard let offset = try JSONShape.optionalInt(members["offset"], at: path() + ".offset") else {
            throw JSONAPIShapeError(path: path() + ".offset", problem: "is missing")
        }
        return JSONAPIDocument.Offset(offset: offset)
    }
}

extension JSONAPIResource {
    init(json: JSONValue, at path: @autoclosure () -> String) throws {
        let members = try JSONShape.object(json, at: path())
        let identifier = try ResourceIdentifier(json: members, at: path())
        type = identifier.type
        id = identifier.id
        attributes = try JSONShape.optionalObject(members["attributes"], at: path() + ".attributes") ?? [:]
        let listed = try JSONShape.optionalObject(members["relationships"], at: path() + ".relationships") ?? [:]
        var relationships = [String: ResourceRelationship](minimumCapacity: listed.count)
        for (name, value) in listed {
            relationships[name] = try ResourceRelationship(json: value, at: "\(path()).relationships.\(name)")
        }
        self.relationships = relationships
        links = try JSONShape.optionalObject(members["links"], at: path() + ".links")
    }
}

extension ResourceRelationship {
    init(json: JSONValue, at path: @autoclosure () -> String) throws {
        let members = try JSONShape.object(json, at: path())
        switch members["data"] {
        case nil: data = nil
        case .null?: data = .toOne(nil)
        case .array(let elements)?:
            var identifiers: [ResourceIdentifier] = []
            identifiers.reserveCapacity(elements.count)
            for (position, element) in elements.enumerated() {
                identifiers.append(try ResourceIdentifier(json: JSONShape.object(element, at: "\(path()).data[\(position)]"),
                                                          at: "\(path()).data[\(position)]"))
            }
            data = .toMany(identifiers)
        case let one?:
            data = .toOne(try ResourceIdentifier(json: JSONShape.object(one, at: path() + ".data"), at: path() + ".data"))
        }
        links = try JSONShape.optionalObject(members["links"], at: path() + ".links")
    }
}

extension ResourceIdentifier {
    init(json members: [String: JSONValue], at path: @autoclosure () -> String) throws {
        guard case .string(let type)? = members["type"] else {
            throw JSONAPIShapeError(path: path() + ".type", problem: members["type"] == nil ? "is missing" : "is not a string")
        }
        switch members["id"] {
        case .string(let text)?: self.init(type: type, id: text)
        case .int(let number)?: self.init(type: type, id: String(number))
        case nil: throw JSONAPIShapeError(path: path() + ".id", problem: "is missing")
        default: throw JSONAPIShapeError(path: path() + ".id", problem: "is neither a string nor an integer")
        }
    }
}

/// A member of a JSON:API document that does not have the shape the specification gives it.
public struct JSONAPIShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where, as `$.data[3].relationships.emails.data`.
    public var path: String
    public var problem: String

    public var description: String { "\(path) \(problem)" }
}

/// Typed access to parsed members, with errors that name the path.
enum JSONShape {
    static func object(_ value: JSONValue, at path: @autoclosure () -> String) throws -> [String: JSONValue] {
        guard case .object(let members) = value else { throw JSONAPIShapeError(path: path(), problem: "is not an object") }
        return members
    }

    static func resources(_ elements: [JSONValue], at path: @autoclosure () -> String) throws -> [JSONAPIResource] {
        var resources: [JSONAPIResource] = []
        resources.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            resources.append(try JSONAPIResource(json: element, at: "\(path())[\(position)]"))
        }
        return resources
    }

    static func optionalObject(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> [String: JSONValue]? {
        switch value {
        case nil, .null?: return nil
        case .object(let members)?: return members
        default: throw JSONAPIShapeError(path: path(), problem: "is not an object")
        }
    }

    static func optionalArray(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> [JSONValue]? {
        switch value {
        case nil, .null?: return nil
        case .array(let elements)?: return elements
        default: throw JSONAPIShapeError(path: path(), problem: "is not an array")
        }
    }

    static func optionalString(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw JSONAPIShapeError(path: path(), problem: "is not a string")
        }
    }

    static func optionalInt(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> Int? {
        switch value {
        case nil, .null?: return nil
        case .int(let number)?: return Int(exactly: number)
        case .double(let number)? where number.rounded() == number && abs(number) < 9.0e15: return Int(number)
        default: throw JSONAPIShapeError(path: path(), problem: "is not an integer")
        }
    }

    static func optionalStrings(_ value: JSONValue?, at path: @autoclosure () -> String) throws -> [String]? {
        guard let elements = try optionalArray(value, at: path()) else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw JSONAPIShapeError(path: "\(path())[\(position)]", problem: "is not a string")
            }
            strings.append(text)
        }
        return strings
    }
}
