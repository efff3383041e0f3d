/// Where a PCO API path leads.
enum APIRoute: Sendable, Hashable {
    /// `/people/v2` or `/groups/v2`: the organization.
    case organization(app: String)
    case list(ResourceKind, RecordScope)
    /// A single record; `scope` is the nested collection it was addressed through, if any.
    case single(ResourceKind, id: Int, scope: RecordScope)
    case availableWebhookEvents
    /// `/webhooks/v2/subscriptions[/{id}[/rotate_secret]]`; `typeName` is `Subscription` or
    /// `WebhookSubscription` (the 2022-10-20 alias at `/webhook_subscriptions`).
    case webhookSubscriptions(typeName: String)
    case webhookSubscription(id: Int, typeName: String)
    case webhookRotateSecret(id: Int, typeName: String)
}

/// Maps API paths to routes. Pure.
enum APIRouter {
    static func route(path: String) -> APIRoute? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2, parts[1] == "v2" else { return nil }
        let app = parts[0]
        if app == "webhooks" { return webhookRoute(Array(parts.dropFirst(2))) }
        guard app == "people" || app == "groups" else { return nil }
        if parts.count == 2 { return .organization(app: app) }
        let segment = parts[2]
        guard let kind = topLevelKind(app: app, segment: segment) else {
            return nil
        }
        switch parts.count {
        case 3:
            return kind.schema.nestedOnlyUnder == nil ? .list(kind, .all) : nil
        case 4:
            guard let id = Int(parts[3]), kind.schema.nestedOnlyUnder == nil else { return nil }
            return .single(kind, id: id, scope: .all)
        case 5, 6:
            guard let parentID = Int(parts[3]), let (child, scope) = nested(parent: kind, parentID: parentID, segment: parts[4]) else {
                return nil
            }
            if parts.count == 5 { return .list(child, scope) }
            guard let id = Int(parts[5]) else { return nil }
            return .single(child, id: id, scope: scope)
        default:
            return nil
        }
    }

    /// The kind a collection segment names in an app (also nested-only kinds, checked by the caller).
    private static func topLevelKind(app: String, segment: String) -> ResourceKind? {
        if app == "groups", segment == "people" { return .person }  // Groups' people share People's ids
        return ResourceKind.allCases.first { $0.schema.app == app && $0.schema.segment == segment }
    }

    /// The nested collections PCO offers that the simulator has data for.
    private static func nested(parent: ResourceKind, parentID: Int, segment: String) -> (ResourceKind, RecordScope)? {
        switch (parent, segment) {
        case (.person, "emails"): return (.email, .children(via: "person", parent: .person, parentID: parentID))
        case (.person, "addresses"): return (.address, .children(via: "person", parent: .person, parentID: parentID))
        case (.person, "phone_numbers"): return (.phoneNumber, .children(via: "person", parent: .person, parentID: parentID))
        case (.person, "household_memberships"): return (.householdMembership, .children(via: "person", parent: .person, parentID: parentID))
        case (.person, "households"): return (.household, .householdsOfPerson(parentID))
        case (.person, "memberships"): return (.membership, .children(via: "person", parent: .person, parentID: parentID))
        case (.household, "household_memberships"): return (.householdMembership, .children(via: "household", parent: .household, parentID: parentID))
        case (.household, "people"): return (.person, .peopleOfHousehold(parentID))
        case (.group, "memberships"): return (.membership, .children(via: "group", parent: .group, parentID: parentID))
        case (.group, "events"): return (.event, .children(via: "group", parent: .group, parentID: parentID))
        case (.groupType, "groups"): return (.group, .children(via: "group_type", parent: .groupType, parentID: parentID))
        default: return nil
        }
    }

    private static func webhookRoute(_ rest: [String]) -> APIRoute? {
        guard let first = rest.first else { return nil }
        if first == "available_events", rest.count == 1 { return .availableWebhookEvents }
        let typeName: String
        switch first {
        case "subscriptions": typeName = "Subscription"
        case "webhook_subscriptions": typeName = "WebhookSubscription"
        default: return nil
        }
        switch rest.count {
        case 1: return .webhookSubscriptions(typeName: typeName)
        case 2: return Int(rest[1]).map { .webhookSubscription(id: $0, typeName: typeName) }
        case 3 where rest[2] == "rotate_secret": return Int(rest[1]).map { .webhookRotateSecret(id: $0, typeName: typeName) }
        default: return nil
        }
    }
}
