/// One record of a simulated organization.
struct SimRecord: Sendable {
    /// PCO ids are numeric strings; kept as integers so ordering by id is numeric, like PCO's.
    let id: Int
    /// Attribute values aligned with the kind's ``ResourceSchema/attributes``.
    var values: [AttributeValue]
    /// Target ids aligned with the kind's ``ResourceSchema/toOne``; nil is a null relationship.
    var toOne: [Int?]
    /// `{"type":"…","id":"…","attributes":{…}` in the current API version: every page copies these
    /// bytes instead of encoding the record again. Refreshed on every change of the record.
    var renderedPrefix: [UInt8] = []

    init(id: Int, values: [AttributeValue], toOne: [Int?]) {
        self.id = id
        self.values = values
        self.toOne = toOne
    }

    subscript(_ schema: ResourceSchema, attribute name: String) -> AttributeValue {
        get {
            guard let i = schema.attribute(name) else { return .null }
            return values[i]
        }
        set {
            guard let i = schema.attribute(name) else {
                preconditionFailure("\(schema.entityName) has no attribute \(name)")
            }
            values[i] = newValue
        }
    }

    mutating func refreshRendering(_ schema: ResourceSchema) {
        var writer = JSONWriter(capacity: renderedPrefix.count > 0 ? renderedPrefix.count + 32 : 512)
        writer.raw("{\"type\":")
        writer.string(schema.typeName)
        writer.raw(",\"id\":\"")
        writer.int(id)
        writer.raw("\",\"attributes\":{")
        for (i, attribute) in schema.attributes.enumerated() {
            if i > 0 { writer.byte(",") }
            writer.key(attribute.name)
            values[i].write(to: &writer)
        }
        writer.byte("}")
        renderedPrefix = writer.bytes
    }
}
