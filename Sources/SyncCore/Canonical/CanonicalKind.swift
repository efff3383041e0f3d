/// The kinds of records in the canonical church model, with the table and typed columns of each.
///
/// The canonical model belongs to the core: adapters produce it and the Postgres store consumes it
/// without ever importing an adapter, so a second adapter needs no store change. Every table also has
/// the common columns `id`, `org_id`, `custom_fields`, `raw`, `source_created_at`,
/// `source_updated_at`, `deleted_at` and `synced_at` (see `Migrations/0001_initial_schema.sql`).
public enum CanonicalKind: String, Sendable, Hashable, Codable, CaseIterable {
    case campus = "Campus"
    case household = "Household"
    case person = "Person"
    case householdMembership = "HouseholdMembership"
    case address = "Address"
    case email = "Email"
    case phoneNumber = "PhoneNumber"
    case groupType = "GroupType"
    case group = "Group"
    case event = "Event"
    case membership = "Membership"

    public var table: String {
        switch self {
        case .campus: "campuses"
        case .household: "households"
        case .person: "people"
        case .householdMembership: "household_memberships"
        case .address: "addresses"
        case .email: "emails"
        case .phoneNumber: "phone_numbers"
        case .groupType: "group_types"
        case .group: "groups"
        case .event: "events"
        case .membership: "memberships"
        }
    }

    /// The typed columns, in table order (without the common ones).
    public var columns: [CanonicalColumn] {
        switch self {
        case .campus:
            [.text("name"), .text("description"), .text("street"), .text("city"), .text("state"), .text("zip"),
             .text("country"), .double("latitude"), .double("longitude"), .text("phone_number"), .text("website"),
             .text("time_zone")]
        case .household:
            [.text("name"), .integer("member_count"), .text("primary_contact_name"),
             .reference("primary_contact_id", .person), .text("avatar")]
        case .person:
            [.text("name"), .text("first_name"), .text("middle_name"), .text("last_name"), .text("given_name"),
             .text("nickname"), .text("gender"), .date("birthdate"), .date("anniversary"), .text("status"),
             .text("membership"), .boolean("child"), .integer("grade"), .integer("graduation_year"), .text("avatar"),
             .timestamp("inactivated_at"), .reference("primary_campus_id", .campus)]
        case .householdMembership:
            [.reference("household_id", .household), .reference("person_id", .person), .text("person_name"),
             .boolean("pending")]
        case .address:
            [.reference("person_id", .person), .text("street_line_1"), .text("street_line_2"), .text("city"),
             .text("state"), .text("zip"), .text("country_code"), .text("location"), .boolean("is_primary")]
        case .email:
            [.reference("person_id", .person), .text("address"), .text("location"), .boolean("is_primary"),
             .boolean("blocked")]
        case .phoneNumber:
            [.reference("person_id", .person), .text("number"), .text("e164"), .text("carrier"), .text("location"),
             .boolean("is_primary"), .text("country_code")]
        case .groupType:
            [.text("name"), .text("description"), .text("color"), .double("position")]
        case .group:
            [.reference("group_type_id", .groupType), .text("name"), .text("description"), .text("schedule"),
             .integer("memberships_count"), .timestamp("archived_at")]
        case .event:
            [.reference("group_id", .group), .text("name"), .text("description"), .timestamp("starts_at"),
             .timestamp("ends_at"), .boolean("canceled"), .timestamp("canceled_at")]
        case .membership:
            [.reference("group_id", .group), .reference("person_id", .person), .text("role"), .timestamp("joined_at")]
        }
    }
}

/// A typed column of a canonical table.
public struct CanonicalColumn: Sendable, Hashable {
    public enum ColumnType: Sendable, Hashable {
        case text, integer, double, boolean, date, timestamp
        /// An internal id of another canonical record, resolved through `external_links`.
        case reference(CanonicalKind)

        /// The Postgres type the text form of a value is cast to.
        public var sqlType: String {
            switch self {
            case .text: "text"
            case .integer: "integer"
            case .double: "double precision"
            case .boolean: "boolean"
            case .date: "date"
            case .timestamp: "timestamptz"
            case .reference: "uuid"
            }
        }
    }

    public var name: String
    public var type: ColumnType

    public static func text(_ name: String) -> Self { .init(name: name, type: .text) }
    public static func integer(_ name: String) -> Self { .init(name: name, type: .integer) }
    public static func double(_ name: String) -> Self { .init(name: name, type: .double) }
    public static func boolean(_ name: String) -> Self { .init(name: name, type: .boolean) }
    public static func date(_ name: String) -> Self { .init(name: name, type: .date) }
    public static func timestamp(_ name: String) -> Self { .init(name: name, type: .timestamp) }
    public static func reference(_ name: String, _ kind: CanonicalKind) -> Self { .init(name: name, type: .reference(kind)) }
}
