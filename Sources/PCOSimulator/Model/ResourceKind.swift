import PlanningCenter
import SyncCore

/// Every kind of record the simulator serves. The first eleven are the manifest's entities;
/// PersonMerger is served too (the engine reads merges from it) although the manifest does not sync it.
public enum ResourceKind: Int, CaseIterable, Sendable, Hashable {
    case campus, household, person, householdMembership, address, email, phoneNumber
    case groupType, group, event, membership
    case personMerger

    /// The schema of this kind; a table lookup by ordinal, cheap enough for the hot path.
    var schema: ResourceSchema { ResourceSchema.table[rawValue] }

    /// The manifest entity name (`Person`, `PhoneNumber`, ...), which also keys `/__sim/dataset`.
    public var entityName: String { schema.entityName }

    public init?(entityName: String) {
        guard let kind = ResourceKind.allCases.first(where: { $0.entityName == entityName }) else { return nil }
        self = kind
    }
}

/// The JSON type of an attribute, which decides how `where[...]` values are parsed and compared.
enum AttributeType: Sendable, Hashable {
    case string, bool, int, double, dateTime, date, json
}

/// A to-one relationship stored on a record as the target's id.
struct ToOneRelationship: Sendable {
    var name: String
    var target: ResourceKind
    /// The JSON:API type used in relationship data (`PrimaryCampus` for a person's campus).
    var typeName: String
}

/// What `include=<name>` of a kind resolves to.
enum IncludeSource: Sendable {
    case toOne(relationshipIndex: Int)
    /// Records of `child` whose to-one relationship `via` points at this record.
    case children(ResourceKind, via: String)
    /// A person's households, through their household memberships.
    case householdsOfPerson
    /// A household's people, through its household memberships.
    case peopleOfHousehold
    case organization
    /// An association the simulator has no data for: served as `data: []`.
    case emptyToMany
    /// An association the simulator has no data for: served as `data: null`.
    case emptyToOne
}

/// What a `where[<name>]` of a kind filters on.
enum FilterSource: Sendable, Hashable {
    case attribute(index: Int, type: AttributeType)
    case id
    case relationship(index: Int)
    /// Case-insensitive substring of the name, optionally also of the person's emails / phone numbers.
    case search(emails: Bool, phones: Bool, phonesOnly: Bool)
    /// Group `archive_status`: `not_archived`, `only` or `include`.
    case archiveStatus
}

/// The static description of one resource kind: PCO's attribute set and the manifest's capabilities.
struct ResourceSchema: Sendable {
    var kind: ResourceKind
    var entityName: String
    var typeName: String
    /// `people` or `groups`: the app the resource lives in.
    var app: String
    /// The collection path segment, e.g. `phone_numbers`.
    var segment: String
    /// Attributes in the current API version, alphabetical as PCO serves them.
    var attributes: [(name: String, type: AttributeType)]
    var attributeIndex: [String: Int]
    var toOne: [ToOneRelationship]
    var hasUpdatedAt: Bool
    /// The kind whose record a nested-only kind is listed under (Membership under Group).
    var nestedOnlyUnder: ResourceKind?
    var canOrderBy: [String]
    var canQueryBy: [String]
    var canInclude: [String]
    /// PCO's named `filter=` values (only Person has any in the recordings).
    var canFilter: [String]
    var includeSources: [String: IncludeSource]
    var filterSources: [String: FilterSource]
    var orderIndexes: [String: Int]
    /// Attributes hidden from clients pinned to the 2018-08-01 API version (see ``APIVersion``).
    var legacyHidden: Set<String>
    /// Association links served on a single-resource GET (`links` beyond `self`), null-valued ones marked.
    var singleResourceLinks: [(name: String, isNull: Bool)]

    func attribute(_ name: String) -> Int? { attributeIndex[name] }
    func toOneIndex(_ name: String) -> Int? { toOne.firstIndex { $0.name == name } }

    static let table: [ResourceSchema] = ResourceKind.allCases.map { build($0) }

    // MARK: - The table

    private static func build(_ kind: ResourceKind) -> ResourceSchema {
        let s: AttributeType = .string, b: AttributeType = .bool, i: AttributeType = .int
        let dt: AttributeType = .dateTime, d: AttributeType = .date, f: AttributeType = .double, j: AttributeType = .json
        switch kind {
        case .campus:
            return make(kind, "Campus", "Campus", "people", "campuses", [
                ("avatar_url", s), ("church_center_enabled", b), ("city", s), ("contact_email_address", s),
                ("country", s), ("created_at", dt), ("date_format", i), ("description", s),
                ("geolocation_set_manually", b), ("latitude", f), ("longitude", f), ("name", s),
                ("phone_number", s), ("state", s), ("street", s), ("time_zone", s), ("twenty_four_hour_time", b),
                ("updated_at", dt), ("website", s), ("zip", s),
            ], toOne: [])
        case .household:
            return make(kind, "Household", "Household", "people", "households", [
                ("avatar", s), ("created_at", dt), ("member_count", i), ("name", s), ("primary_contact_id", s),
                ("primary_contact_name", s), ("updated_at", dt),
            ], toOne: [ToOneRelationship(name: "primary_contact", target: .person, typeName: "Person")],
            includes: ["people": .peopleOfHousehold])
        case .person:
            return make(kind, "Person", "Person", "people", "people", [
                ("accounting_administrator", b), ("anniversary", d), ("avatar", s), ("birthdate", d),
                ("can_create_forms", b), ("can_email_lists", b), ("child", b), ("created_at", dt),
                ("demographic_avatar_url", s), ("directory_status", s), ("first_name", s), ("gender", s),
                ("given_name", s), ("grade", i), ("graduation_year", i), ("inactivated_at", dt), ("last_name", s),
                ("login_identifier", s), ("medical_notes", s), ("membership", s), ("mfa_configured", b),
                ("middle_name", s), ("name", s), ("nickname", s), ("passed_background_check", b),
                ("people_permissions", s), ("remote_id", i), ("school_type", s), ("site_administrator", b),
                ("status", s), ("updated_at", dt),
            ], toOne: [ToOneRelationship(name: "primary_campus", target: .campus, typeName: "PrimaryCampus")],
            includes: [
                "addresses": .children(.address, via: "person"), "emails": .children(.email, via: "person"),
                "phone_numbers": .children(.phoneNumber, via: "person"), "households": .householdsOfPerson,
                "primary_campus": .toOne(relationshipIndex: 0), "organization": .organization,
                "field_data": .emptyToMany, "person_apps": .emptyToMany, "platform_notifications": .emptyToMany,
                "social_profiles": .emptyToMany, "inactive_reason": .emptyToOne, "marital_status": .emptyToOne,
                "name_prefix": .emptyToOne, "name_suffix": .emptyToOne, "school": .emptyToOne,
            ],
            canFilter: ["created_since", "admins", "organization_admins"],
            legacyHidden: ["can_create_forms", "can_email_lists", "directory_status", "login_identifier", "mfa_configured"],
            singleLinks: [
                ("", false), ("addresses", false), ("apps", false), ("connected_people", false), ("emails", false),
                ("field_data", false), ("household_memberships", false), ("households", false),
                ("inactive_reason", true), ("marital_status", true), ("message_groups", false), ("messages", false),
                ("name_prefix", true), ("name_suffix", true), ("notes", false), ("organization", false),
                ("person_apps", false), ("phone_numbers", false), ("platform_notifications", false),
                ("primary_campus", true), ("school", true), ("social_profiles", false), ("workflow_cards", false),
            ])
        case .householdMembership:
            return make(kind, "HouseholdMembership", "HouseholdMembership", "people", "household_memberships", [
                ("pending", b), ("person_name", s),
            ], toOne: [
                ToOneRelationship(name: "household", target: .household, typeName: "Household"),
                ToOneRelationship(name: "person", target: .person, typeName: "Person"),
            ], includes: ["person": .toOne(relationshipIndex: 1)], nestedOnlyUnder: .household)
        case .address:
            return make(kind, "Address", "Address", "people", "addresses", [
                ("city", s), ("country_code", s), ("country_name", s), ("created_at", dt), ("location", s),
                ("primary", b), ("state", s), ("street_line_1", s), ("street_line_2", s), ("updated_at", dt), ("zip", s),
            ], toOne: [ToOneRelationship(name: "person", target: .person, typeName: "Person")])
        case .email:
            return make(kind, "Email", "Email", "people", "emails", [
                ("address", s), ("blocked", b), ("created_at", dt), ("location", s), ("primary", b), ("updated_at", dt),
            ], toOne: [ToOneRelationship(name: "person", target: .person, typeName: "Person")],
            legacyHidden: ["blocked"])
        case .phoneNumber:
            return make(kind, "PhoneNumber", "PhoneNumber", "people", "phone_numbers", [
                ("carrier", s), ("country_code", s), ("created_at", dt), ("e164", s), ("international", s),
                ("location", s), ("national", s), ("number", s), ("primary", b), ("updated_at", dt),
            ], toOne: [ToOneRelationship(name: "person", target: .person, typeName: "Person")],
            legacyHidden: ["country_code", "e164", "international", "national"])
        case .personMerger:
            return make(kind, "PersonMerger", "PersonMerger", "people", "person_mergers", [
                ("created_at", dt), ("person_to_keep_id", i), ("person_to_remove_id", i),
            ], toOne: [
                ToOneRelationship(name: "person_to_keep", target: .person, typeName: "Person"),
                ToOneRelationship(name: "person_to_remove", target: .person, typeName: "Person"),
            ], manifestOverride: (
                filterable: ["created_at", "person_to_keep_id", "person_to_remove_id"],
                orderable: ["created_at"], includable: [], hasUpdatedAt: false
            ))
        case .groupType:
            return make(kind, "GroupType", "GroupType", "groups", "group_types", [
                ("church_center_map_visible", b), ("church_center_visible", b), ("color", s),
                ("default_group_settings", s), ("description", s), ("name", s), ("position", i),
                ("public_church_center_web_url", s),
            ], toOne: [])
        case .group:
            return make(kind, "Group", "Group", "groups", "groups", [
                ("archived_at", dt), ("chat_enabled", b), ("contact_email", s), ("created_at", dt),
                ("description", s), ("events_visibility", s), ("header_image", j), ("listed", b),
                ("location_type_preference", s), ("members_are_confidential", b), ("memberships_count", i),
                ("name", s), ("public_church_center_web_url", s), ("schedule", s), ("virtual_location_url", s),
                ("widget_status", j),
            ], toOne: [ToOneRelationship(name: "group_type", target: .groupType, typeName: "GroupType")],
            includes: ["enrollment": .emptyToOne, "location": .emptyToOne])
        case .event:
            return make(kind, "Event", "Event", "groups", "events", [
                ("attendance_requests_enabled", b), ("automated_reminder_enabled", b), ("canceled", b),
                ("canceled_at", dt), ("description", s), ("ends_at", dt), ("location_type_preference", s),
                ("multi_day", b), ("name", s), ("reminders_sent", b), ("reminders_sent_at", dt), ("repeating", b),
                ("starts_at", dt), ("virtual_location_url", s), ("visitors_count", i),
            ], toOne: [ToOneRelationship(name: "group", target: .group, typeName: "Group")],
            includes: ["location": .emptyToOne])
        case .membership:
            return make(kind, "Membership", "Membership", "groups", "memberships", [
                ("avatar_url", s), ("first_name", s), ("joined_at", dt), ("last_name", s), ("role", s),
            ], toOne: [
                ToOneRelationship(name: "group", target: .group, typeName: "Group"),
                ToOneRelationship(name: "person", target: .person, typeName: "Person"),
            ], nestedOnlyUnder: .group)
        }
    }

    private static func make(
        _ kind: ResourceKind,
        _ entityName: String,
        _ typeName: String,
        _ app: String,
        _ segment: String,
        _ attributes: [(String, AttributeType)],
        toOne: [ToOneRelationship],
        includes extraIncludes: [String: IncludeSource] = [:],
        nestedOnlyUnder: ResourceKind? = nil,
        canFilter: [String] = [],
        legacyHidden: Set<String> = [],
        singleLinks: [(String, Bool)] = [],
        manifestOverride: (filterable: Set<String>, orderable: Set<String>, includable: Set<String>, hasUpdatedAt: Bool)? = nil
    ) -> ResourceSchema {
        // Capabilities come from the manifest so that the simulator and the engine agree on them.
        let capabilities: (filterable: Set<String>, orderable: Set<String>, includable: Set<String>, hasUpdatedAt: Bool)
        if let manifestOverride {
            capabilities = manifestOverride
        } else if let entity = PCOManifest.manifest.entity(named: entityName) {
            capabilities = (entity.endpoint.filterable, entity.endpoint.orderable, entity.endpoint.includable, entity.hasUpdatedAt)
        } else {
            preconditionFailure("the PCO manifest has no entity \(entityName)")
        }
        var attributeIndex: [String: Int] = [:]
        for (n, a) in attributes.enumerated() { attributeIndex[a.0] = n }

        var includeSources: [String: IncludeSource] = [:]
        for name in capabilities.includable {
            if let source = extraIncludes[name] {
                includeSources[name] = source
            } else if let index = toOne.firstIndex(where: { $0.name == name }) {
                includeSources[name] = .toOne(relationshipIndex: index)
            } else {
                includeSources[name] = .emptyToOne
            }
        }

        var filterSources: [String: FilterSource] = [:]
        for name in capabilities.filterable {
            if let index = attributeIndex[name] {
                filterSources[name] = .attribute(index: index, type: attributes[index].1)
            } else if name == "id" {
                filterSources[name] = .id
            } else if name.hasSuffix("_id"), let rel = toOne.firstIndex(where: { $0.name + "_id" == name }) {
                filterSources[name] = .relationship(index: rel)
            } else if name == "archive_status" {
                filterSources[name] = .archiveStatus
            } else if name.hasPrefix("search_") {
                let phonesOnly = name.hasPrefix("search_phone_number")
                filterSources[name] = .search(
                    emails: name.contains("email"), phones: name.contains("phone"), phonesOnly: phonesOnly
                )
            } else {
                preconditionFailure("\(entityName): no way to filter on \(name)")
            }
        }

        var orderIndexes: [String: Int] = [:]
        for name in capabilities.orderable {
            guard let index = attributeIndex[name] else {
                preconditionFailure("\(entityName): cannot order by \(name), it is not an attribute")
            }
            orderIndexes[name] = index
        }

        return ResourceSchema(
            kind: kind,
            entityName: entityName,
            typeName: typeName,
            app: app,
            segment: segment,
            attributes: attributes.map { (name: $0.0, type: $0.1) },
            attributeIndex: attributeIndex,
            toOne: toOne,
            hasUpdatedAt: capabilities.hasUpdatedAt,
            nestedOnlyUnder: nestedOnlyUnder,
            canOrderBy: capabilities.orderable.sorted(),
            canQueryBy: capabilities.filterable.sorted(),
            canInclude: capabilities.includable.sorted(),
            canFilter: canFilter,
            includeSources: includeSources,
            filterSources: filterSources,
            orderIndexes: orderIndexes,
            legacyHidden: legacyHidden,
            singleResourceLinks: singleLinks.map { (name: $0.0, isNull: $0.1) }
        )
    }
}
