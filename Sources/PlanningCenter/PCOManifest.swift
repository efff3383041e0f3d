import SyncCore

/// The Planning Center Online entities this engine syncs (People v2 and Groups v2).
///
/// Capabilities follow PCO's own documentation (People 2025-03-20, Groups 2023-07-10), see
/// `shared/reference/pco-api.md` §1.3–1.4. The quirks that shape the sync:
/// - Address has no `where[updated_at]`, only `order=updated_at`: deltas read newest first and stop early.
/// - Group, GroupType, Event and Membership expose no `updated_at`: they are refreshed in full.
/// - Membership and HouseholdMembership have no top-level list; they are listed per group / household.
/// - Person's `primary_campus` relationship has JSON:API type `PrimaryCampus`, so Campus claims both types.
///
/// Entity order matters: it breaks soft-edge cycles (Household before Person, so Person.households
/// wins over Household.primary_contact).
public enum PCOManifest {
    public static let adapter = "pco"

    public static let manifest = EntityManifest(adapter: adapter, entities: [
        campus, household, person, householdMembership, address, email, phoneNumber,
        groupType, group, event, membership,
    ])

    static let campus = EntityDefinition(
        name: "Campus",
        typeNames: ["Campus", "PrimaryCampus"],
        endpoint: ListEndpoint(
            path: "/people/v2/campuses",
            defaultOrder: "updated_at",
            filterable: ["created_at", "id", "updated_at"],
            orderable: ["created_at", "name", "updated_at"],
            includable: []
        ),
        hasUpdatedAt: true
    )

    static let household = EntityDefinition(
        name: "Household",
        typeNames: ["Household"],
        endpoint: ListEndpoint(
            path: "/people/v2/households",
            defaultOrder: "updated_at",
            filterable: ["created_at", "member_count", "name", "primary_contact_name", "updated_at"],
            orderable: ["created_at", "member_count", "name", "primary_contact_name", "updated_at"],
            includable: ["people"]
        ),
        hasUpdatedAt: true,
        relationships: [
            Relationship(name: "primary_contact", target: "Person", dependency: .soft),
        ]
    )

    static let person = EntityDefinition(
        name: "Person",
        typeNames: ["Person"],
        endpoint: ListEndpoint(
            path: "/people/v2/people",
            // Without the include PCO leaves `households` out of the relationships, so no edge could be kept.
            defaultInclude: ["households"],
            defaultOrder: "updated_at",
            filterable: [
                "accounting_administrator", "anniversary", "birthdate", "child", "created_at", "first_name",
                "gender", "given_name", "grade", "graduation_year", "id", "inactivated_at", "last_name",
                "medical_notes", "membership", "mfa_configured", "middle_name", "nickname", "people_permissions",
                "primary_campus_id", "remote_id", "search_name", "search_name_or_email",
                "search_name_or_email_or_phone_number", "search_phone_number", "search_phone_number_e164",
                "site_administrator", "status", "updated_at",
            ],
            orderable: [
                "accounting_administrator", "anniversary", "birthdate", "child", "created_at", "first_name",
                "gender", "given_name", "grade", "graduation_year", "inactivated_at", "last_name", "membership",
                "middle_name", "nickname", "people_permissions", "remote_id", "site_administrator", "status",
                "updated_at",
            ],
            includable: [
                "addresses", "emails", "field_data", "households", "inactive_reason", "marital_status",
                "name_prefix", "name_suffix", "organization", "person_apps", "phone_numbers",
                "platform_notifications", "primary_campus", "school", "social_profiles",
            ]
        ),
        hasUpdatedAt: true,
        relationships: [
            Relationship(name: "primary_campus", target: "Campus", dependency: .soft),
            Relationship(name: "households", target: "Household", cardinality: .toMany, dependency: .soft),
        ]
    )

    static let householdMembership = EntityDefinition(
        name: "HouseholdMembership",
        typeNames: ["HouseholdMembership"],
        endpoint: ListEndpoint(
            path: "/people/v2/households/{parent_id}/household_memberships",
            parent: "Household",
            filterable: ["pending"],
            orderable: ["pending"],
            includable: ["person"]
        ),
        hasUpdatedAt: false,
        relationships: [
            Relationship(name: "household", target: "Household", dependency: .hard),
            Relationship(name: "person", target: "Person", dependency: .hard),
        ]
    )

    static let address = EntityDefinition(
        name: "Address",
        typeNames: ["Address"],
        endpoint: ListEndpoint(
            path: "/people/v2/addresses",
            defaultOrder: "-updated_at",
            // No updated_at here: PCO cannot filter addresses by it (see the type's documentation).
            filterable: ["city", "country_code", "location", "primary", "state", "street_line_1", "street_line_2", "zip"],
            orderable: [
                "city", "country_code", "created_at", "location", "primary", "state", "street_line_1",
                "street_line_2", "updated_at", "zip",
            ],
            includable: []
        ),
        hasUpdatedAt: true,
        relationships: [Relationship(name: "person", target: "Person", dependency: .hard)]
    )

    static let email = EntityDefinition(
        name: "Email",
        typeNames: ["Email"],
        endpoint: ListEndpoint(
            path: "/people/v2/emails",
            defaultOrder: "updated_at",
            filterable: ["address", "blocked", "created_at", "location", "primary", "updated_at"],
            orderable: ["address", "blocked", "created_at", "location", "primary", "updated_at"],
            includable: []
        ),
        hasUpdatedAt: true,
        relationships: [Relationship(name: "person", target: "Person", dependency: .hard)]
    )

    static let phoneNumber = EntityDefinition(
        name: "PhoneNumber",
        typeNames: ["PhoneNumber"],
        endpoint: ListEndpoint(
            path: "/people/v2/phone_numbers",
            defaultOrder: "updated_at",
            filterable: ["carrier", "created_at", "location", "number", "primary", "updated_at"],
            orderable: ["carrier", "created_at", "location", "number", "primary", "updated_at"],
            includable: []
        ),
        hasUpdatedAt: true,
        relationships: [Relationship(name: "person", target: "Person", dependency: .hard)]
    )

    static let groupType = EntityDefinition(
        name: "GroupType",
        typeNames: ["GroupType"],
        endpoint: ListEndpoint(
            path: "/groups/v2/group_types",
            filterable: ["id"],
            orderable: ["name", "position"],
            includable: []
        ),
        hasUpdatedAt: false
    )

    static let group = EntityDefinition(
        name: "Group",
        typeNames: ["Group"],
        endpoint: ListEndpoint(
            path: "/groups/v2/groups",
            defaultInclude: ["group_type"],
            filterable: ["archive_status", "name"],
            orderable: ["name"],
            includable: ["enrollment", "group_type", "location"]
        ),
        hasUpdatedAt: false,
        relationships: [Relationship(name: "group_type", target: "GroupType", dependency: .hard)]
    )

    static let event = EntityDefinition(
        name: "Event",
        typeNames: ["Event"],
        endpoint: ListEndpoint(
            path: "/groups/v2/events",
            filterable: ["ends_at", "name", "starts_at"],
            orderable: ["ends_at", "name", "starts_at"],
            includable: ["group", "location"]
        ),
        hasUpdatedAt: false,
        relationships: [Relationship(name: "group", target: "Group", dependency: .hard)]
    )

    static let membership = EntityDefinition(
        name: "Membership",
        typeNames: ["Membership"],
        endpoint: ListEndpoint(
            path: "/groups/v2/groups/{parent_id}/memberships",
            parent: "Group",
            filterable: ["role"],
            orderable: ["first_name", "joined_at", "last_name", "role"],
            includable: ["group", "person"]
        ),
        hasUpdatedAt: false,
        relationships: [
            Relationship(name: "group", target: "Group", dependency: .hard),
            Relationship(name: "person", target: "Person", dependency: .hard),
        ]
    )
}
