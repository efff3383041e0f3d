/// One change asked of the simulated data through `POST /__sim/mutate`.
public struct MutationRequest: Sendable, Hashable {
    public enum Operation: String, Sendable, Codable, CaseIterable {
        case create, update, delete, merge
    }

    public var operation: Operation
    public var kind: ResourceKind
    /// The record to update or delete; for a merge, the person to remove. Random when nil.
    public var id: Int?
    /// Attribute values to set (create and update), as JSON.
    public var attributes: [String: JSONValue]
    /// To-one relationship targets for a create (`{"person": "123"}`), or `{"into": "<keep id>"}` for a merge.
    public var relationships: [String: Int]

    public init(operation: Operation, kind: ResourceKind, id: Int? = nil, attributes: [String: JSONValue] = [:], relationships: [String: Int] = [:]) {
        self.operation = operation
        self.kind = kind
        self.id = id
        self.attributes = attributes
        self.relationships = relationships
    }
}

/// One record that changed, as reported by the control API and turned into a webhook event.
public struct MutationChange: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable {
        case created, updated, destroyed
    }

    /// The manifest entity name (`Person`).
    public var type: String
    public var id: String
    public var action: Action
    /// The record's `updated_at` after the change, if the kind has one and the record still exists.
    public var updatedAt: String?

    enum CodingKeys: String, CodingKey {
        case type, id, action = "op", updatedAt = "updated_at"
    }
}

/// A mutation the data could not take.
public struct MutationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var org: String
    public var detail: String
    public var description: String { "org \(org): \(detail)" }
}
