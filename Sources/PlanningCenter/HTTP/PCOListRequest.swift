import SyncCore

/// What to list: a concrete path plus the query every page repeats (page size, includes, order, filters).
/// The page offset is added per page by ``PCOPageSequence``.
public struct PCOListRequest: Sendable, Hashable {
    public var path: String
    public var perPage: Int
    public var include: [String]
    public var order: String?
    /// Further parameters, e.g. `where[updated_at][gte]`.
    public var extraQuery: [PCOQueryItem]

    public init(path: String, perPage: Int = 100, include: [String] = [], order: String? = nil, extraQuery: [PCOQueryItem] = []) {
        precondition((1...100).contains(perPage), "PCO allows per_page 1...100, got \(perPage) for \(path)")
        self.path = path
        self.perPage = perPage
        self.include = include
        self.order = order
        self.extraQuery = extraQuery
    }

    /// The list request of a manifest endpoint; `parentID` is required for a nested endpoint
    /// (`/groups/v2/groups/{parent_id}/memberships`). `include` and `order` default to the endpoint's.
    public init(endpoint: ListEndpoint, parentID: String? = nil, include: [String]? = nil, order: String? = nil, extraQuery: [PCOQueryItem] = []) {
        let path: String
        if endpoint.isNested {
            guard let parentID else { preconditionFailure("nested endpoint \(endpoint.path) listed without a parent id") }
            path = endpoint.path(parentID: parentID)
        } else {
            path = endpoint.path
        }
        self.init(
            path: path, perPage: endpoint.perPage, include: include ?? endpoint.defaultInclude,
            order: order ?? endpoint.defaultOrder, extraQuery: extraQuery
        )
    }

    /// The query of the page starting at `offset`.
    public func query(offset: Int) -> [PCOQueryItem] {
        var items = extraQuery
        if !include.isEmpty { items.append(PCOQueryItem("include", include.joined(separator: ","))) }
        if let order { items.append(PCOQueryItem("order", order)) }
        items.append(PCOQueryItem("per_page", String(perPage)))
        items.append(PCOQueryItem("offset", String(offset)))
        return items
    }
}
