/// A webhook subscription: one event name delivered to one URL, signed with its own secret.
public struct WebhookSubscription: Sendable, Hashable, Codable {
    public var id: Int
    public var orgID: String
    /// `people.v2.events.person.updated`
    public var name: String
    public var url: String
    public var active: Bool
    public var authenticitySecret: String
    public var createdAt: Int64
    public var updatedAt: Int64
}

/// PCO's webhook event names for the simulator's kinds (`{app}.v2.events.{resource}.{action}`).
enum WebhookEventNames {
    static func name(kind: ResourceKind, action: MutationChange.Action) -> String? {
        let resource: String
        switch kind {
        case .person: resource = "person"
        case .email: resource = "email"
        case .phoneNumber: resource = "phone_number"
        case .address: resource = "address"
        case .household: resource = "household"
        case .campus: resource = "campus"
        case .personMerger:
            guard action == .created else { return nil }
            resource = "person_merger"
        case .group: resource = "group"
        case .membership: resource = "membership"
        case .event: resource = "event"
        case .groupType: resource = "group_type"
        case .householdMembership: return nil  // PCO reports these as household changes
        }
        return "\(kind.schema.app).v2.events.\(resource).\(action.rawValue)"
    }

    static var all: [String] {
        var names: [String] = []
        for kind in ResourceKind.allCases {
            for action in [MutationChange.Action.created, .updated, .destroyed] {
                if let n = name(kind: kind, action: action) { names.append(n) }
            }
        }
        return names
    }
}

/// The subscriptions of every org. Pure state; secrets come from the seeded generator.
struct WebhookSubscriptions: Sendable {
    private(set) var byID: [Int: WebhookSubscription] = [:]
    private var nextID = 1001
    private var rng: SeededGenerator

    init(seed: UInt64) {
        rng = SeededGenerator(seed: seed, stream: 0x3E3B)
    }

    mutating func create(orgID: String, name: String, url: String, active: Bool, now: Int64) -> WebhookSubscription {
        let sub = WebhookSubscription(
            id: nextID, orgID: orgID, name: name, url: url, active: active,
            authenticitySecret: rng.hexToken(bytes: 32), createdAt: now, updatedAt: now
        )
        byID[sub.id] = sub
        nextID += 1 + rng.int(in: 0 ... 5)
        return sub
    }

    func subscription(orgID: String, id: Int) -> WebhookSubscription? {
        guard let s = byID[id], s.orgID == orgID else { return nil }
        return s
    }

    func list(orgID: String) -> [WebhookSubscription] {
        byID.values.filter { $0.orgID == orgID }.sorted { $0.id < $1.id }
    }

    mutating func setActive(orgID: String, id: Int, active: Bool, now: Int64) -> WebhookSubscription? {
        guard var s = subscription(orgID: orgID, id: id) else { return nil }
        s.active = active
        s.updatedAt = now
        byID[id] = s
        return s
    }

    mutating func rotateSecret(orgID: String, id: Int, now: Int64) -> WebhookSubscription? {
        guard var s = subscription(orgID: orgID, id: id) else { return nil }
        s.authenticitySecret = rng.hexToken(bytes: 32)
        s.updatedAt = now
        byID[id] = s
        return s
    }

    mutating func delete(orgID: String, id: Int) -> Bool {
        guard subscription(orgID: orgID, id: id) != nil else { return false }
        byID[id] = nil
        return true
    }

    /// Active subscriptions of an org to an event name.
    func matching(orgID: String, name: String) -> [WebhookSubscription] {
        byID.values.filter { $0.orgID == orgID && $0.name == name && $0.active }.sorted { $0.id < $1.id }
    }

    /// PCO deactivates a subscription whose endpoint answers 410 Gone.
    mutating func deactivate(id: Int) {
        byID[id]?.active = false
    }
}
