import Foundation

/// `{"type": "...", "id": "..."}`. PCO sends ids as strings, but webhook payloads of some resources
/// (person mergers) carry them as numbers, so both decode.
public struct ResourceIdentifier: Sendable, Hashable, Codable, CustomStringConvertible {
    public var type: String
    public var id: String

    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    enum CodingKeys: String, CodingKey { case type, id }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        if let text = try? container.decode(String.self, forKey: .id) {
            id = text
        } else {
            id = String(try container.decode(Int64.self, forKey: .id))
        }
    }

    public var description: String { "\(type)/\(id)" }
}

/// A relationship's `data`: one identifier (or null) or a list. Absent `data` (PCO leaves it out
/// unless the relationship was included) is `nil` on ``ResourceRelationship``.
public enum RelationshipData: Sendable, Hashable, Codable {
    case toOne(ResourceIdentifier?)
    case toMany([ResourceIdentifier])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .toOne(nil)
        } else if let many = try? container.decode([ResourceIdentifier].self) {
            self = .toMany(many)
        } else {
            self = .toOne(try container.decode(ResourceIdentifier.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .toOne(let one): try container.encode(one)
        case .toMany(let many): try container.encode(many)
        }
    }

    public var identifiers: [ResourceIdentifier] {
        switch self {
        case .toOne(let one): one.map { [$0] } ?? []
        case .toMany(let many): many
        }
    }
}

public struct ResourceRelationship: Sendable, Hashable, Codable {
    /// nil when the document did not say (no `data` key): the relationship is unknown, not empty.
    public var data: RelationshipData?
    public var links: [String: JSONValue]?

    public init(data: RelationshipData?, links: [String: JSONValue]? = nil) {
        self.data = data
        self.links = links
    }

    enum CodingKeys: String, CodingKey { case data, links }

    // `"data": null` (points nowhere) must stay distinct from no `data` key (not said), which the
    // synthesised decodeIfPresent would conflate.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        data = container.contains(.data) ? try container.decode(RelationshipData.self, forKey: .data) : nil
        links = try container.decodeIfPresent([String: JSONValue].self, forKey: .links)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let data { try container.encode(data, forKey: .data) }
        try container.encodeIfPresent(links, forKey: .links)
    }
}

/// One JSON:API resource object. Unknown attributes and relationships are kept as they came.
public struct JSONAPIResource: Sendable, Hashable, Codable {
    public var type: String
    public var id: String
    public var attributes: [String: JSONValue]
    public var relationships: [String: ResourceRelationship]
    public var links: [String: JSONValue]?
    /// The resource's own JSON text as it came in the document, when decoded from one by
    /// ``JSONAPIDocument/decode(_:)``: its raw copy, stored without being written anew. Not part of
    /// equality or of the encoded form (it is the same resource, read from text).
    public var sourceText: String?

    public init(type: String, id: String, attributes: [String: JSONValue] = [:],
                relationships: [String: ResourceRelationship] = [:], links: [String: JSONValue]? = nil) {
        self.type = type
        self.id = id
        self.attributes = attributes
        self.relationships = relationships
        self.links = links
    }

    enum CodingKeys: String, CodingKey { case type, id, attributes, relationships, links }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let identifier = try ResourceIdentifier(from: decoder)
        type = identifier.type
        id = identifier.id
        attributes = try container.decodeIfPresent([String: JSONValue].self, forKey: .attributes) ?? [:]
        relationships = try container.decodeIfPresent([String: ResourceRelationship].self, forKey: .relationships) ?? [:]
        links = try container.decodeIfPresent([String: JSONValue].self, forKey: .links)
    }

    public var identifier: ResourceIdentifier { ResourceIdentifier(type: type, id: id) }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.type == rhs.type && lhs.id == rhs.id && lhs.attributes == rhs.attributes
            && lhs.relationships == rhs.relationships && lhs.links == rhs.links
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(id)
        hasher.combine(attributes)
        hasher.combine(relationships)
        hasher.combine(links)
    }
}

/// A collection or single-resource document.
public struct JSONAPIDocument: Sendable, Hashable, Codable {
    public enum PrimaryData: Sendable, Hashable, Codable {
        case one(JSONAPIResource?)
        case many([JSONAPIResource])

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .one(nil)
            } else if let many = try? container.decode([JSONAPIResource].self) {
                self = .many(many)
            } else {
                self = .one(try container.decode(JSONAPIResource.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .one(let one): try container.encode(one)
            case .many(let many): try container.encode(many)
            }
        }
    }

    public struct Links: Sendable, Hashable, Codable {
        public var `self`: String?
        public var next: String?
        public var prev: String?
    }

    public struct Offset: Sendable, Hashable, Codable {
        public var offset: Int
    }

    public struct Meta: Sendable, Hashable, Codable {
        public var totalCount: Int?
        public var count: Int?
        public var next: Offset?
        public var prev: Offset?
        public var canOrderBy: [String]?
        public var canQueryBy: [String]?
        public var canInclude: [String]?
        public var parent: ResourceIdentifier?

        enum CodingKeys: String, CodingKey {
            case totalCount = "total_count", count, next, prev
            case canOrderBy = "can_order_by", canQueryBy = "can_query_by", canInclude = "can_include", parent
        }
    }

    public var data: PrimaryData
    public var included: [JSONAPIResource]
    public var links: Links?
    public var meta: Meta?

    enum CodingKeys: String, CodingKey { case data, included, links, meta }

    public init(data: PrimaryData, included: [JSONAPIResource] = [], links: Links? = nil, meta: Meta? = nil) {
        self.data = data
        self.included = included
        self.links = links
        self.meta = meta
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        data = try container.decode(PrimaryData.self, forKey: .data)
        included = try container.decodeIfPresent([JSONAPIResource].self, forKey: .included) ?? []
        links = try container.decodeIfPresent(Links.self, forKey: .links)
        meta = try container.decodeIfPresent(Meta.self, forKey: .meta)
    }

    /// The primary resources, whether the document holds one or many.
    public var resources: [JSONAPIResource] {
        switch data {
        case .one(let one): one.map { [$0] } ?? []
        case .many(let many): many
        }
    }

    /// Whether another page follows: PCO omits `meta.next` and `links.next` on the last page.
    public var hasNextPage: Bool { meta?.next != nil || links?.next != nil }

    /// Decodes a document from a response body: ``JSONParser`` then ``init(json:)``. Errors are
    /// ``JSONParseError`` (where the text is broken) or ``JSONAPIShapeError`` (which member has the
    /// wrong shape).
    @inline(never)  // see JSONParser: inlined into async callers, it crashed the release optimizer
    public static func decode(_ body: Data) throws -> JSONAPIDocument {
        let (json, spans, bytes) = try JSONParser.parseDocument(body)
        var document = try JSONAPIDocument(json: json)
        document.attachSourceTexts(spans, of: bytes)
        return document
    }

    /// Gives each resource its own text (the parser found where each one lies).
    private mutating func attachSourceTexts(_ spans: JSONParser.ResourceSpans, of bytes: [UInt8]) {
        // The spans are of valid JSON, so of valid UTF-8: decoding does not repair anything.
        func text(_ span: Range<Int>) -> String { String(decoding: bytes[span], as: UTF8.self) }
        switch data {
        case .one(var one?) where spans.data.count == 1:
            one.sourceText = text(spans.data[0])
            data = .one(one)
        case .many(var many) where many.count == spans.data.count:
            for position in many.indices { many[position].sourceText = text(spans.data[position]) }
            data = .many(many)
        default:
            break
        }
        if included.count == spans.included.count {
            for position in included.indices { included[position].sourceText = text(spans.included[position]) }
        }
    }
}

/// Resources of `included`, found by (type, id).
public struct IncludedIndex: Sendable {
    private var byIdentifier: [ResourceIdentifier: JSONAPIResource] = [:]

    public init(_ resources: [JSONAPIResource]) {
        for resource in resources { byIdentifier[resource.identifier] = resource }
    }

    public subscript(identifier: ResourceIdentifier) -> JSONAPIResource? { byIdentifier[identifier] }
}
