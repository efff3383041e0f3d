/// Which records a collection endpoint lists before any `where` filter.
enum RecordScope: Sendable, Hashable {
    /// The top-level collection of the kind.
    case all
    /// Records whose to-one relationship `via` points at the parent (`/people/{id}/emails`).
    case children(via: String, parent: ResourceKind, parentID: Int)
    /// `/people/v2/people/{id}/households`.
    case householdsOfPerson(Int)
    /// `/people/v2/households/{id}/people`.
    case peopleOfHousehold(Int)

    /// The parent record a nested collection belongs to (its `meta.parent`), nil for top level.
    var parent: (kind: ResourceKind, id: Int)? {
        switch self {
        case .all: return nil
        case .children(_, let kind, let id): return (kind, id)
        case .householdsOfPerson(let id): return (.person, id)
        case .peopleOfHousehold(let id): return (.household, id)
        }
    }
}
