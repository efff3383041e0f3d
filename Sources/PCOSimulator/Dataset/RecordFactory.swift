/// Makes plausible records of every kind from a seeded generator.
///
/// Shared by the dataset generator (the initial data) and the mutation logic (creates and updates
/// while a sync runs), so a created record looks like a generated one.
struct RecordFactory {
    var rng: SeededGenerator
    /// Instants many records share: PCO data is full of bulk imports and batch updates that stamp
    /// hundreds of rows with the same second, which is what makes `updated_at` paging tricky.
    var batchInstants: [Int64]
    let referenceTime: Int64
    let orgTimeZone: String

    static let threeYears: Int64 = 3 * 365 * 86_400

    init(rng: SeededGenerator, referenceTime: Int64, orgTimeZone: String) {
        self.rng = rng
        self.referenceTime = referenceTime
        self.orgTimeZone = orgTimeZone
        var instants: [Int64] = []
        for _ in 0 ..< 40 {
            instants.append(referenceTime - Int64(self.rng.int(in: 86_400 ... Int(Self.threeYears))))
        }
        self.batchInstants = instants.sorted()
    }

    // MARK: Timestamps

    /// A (created_at, updated_at) pair in the past three years, with deliberate ties.
    mutating func historicTimestamps() -> (created: Int64, updated: Int64) {
        let created: Int64
        if rng.chance(0.35) {
            created = rng.pick(batchInstants)
        } else {
            created = referenceTime - Int64(rng.int(in: 86_400 ... Int(Self.threeYears)))
        }
        let roll = rng.unit()
        let updated: Int64
        if roll < 0.4 {
            updated = created
        } else if roll < 0.7 {
            updated = max(created, rng.pick(batchInstants))
        } else {
            updated = created + Int64(rng.int(in: 0 ... max(0, Int(referenceTime - created))))
        }
        return (created, updated)
    }

    // MARK: Kinds

    private func blank(_ kind: ResourceKind) -> [AttributeValue] {
        Array(repeating: .null, count: kind.schema.attributes.count)
    }

    private func set(_ values: inout [AttributeValue], _ kind: ResourceKind, _ name: String, _ value: AttributeValue) {
        guard let i = kind.schema.attribute(name) else { preconditionFailure("\(kind.entityName).\(name)") }
        values[i] = value
    }

    mutating func personName() -> (first: String, last: String) {
        (rng.pick(SampleNames.firstNames), rng.pick(SampleNames.lastNames))
    }

    mutating func person(
        id: Int, first: String, last: String, campusID: Int?, created: Int64, updated: Int64
    ) -> SimRecord {
        let k = ResourceKind.person
        var v = blank(k)
        let child = rng.chance(0.15)
        let avatar = "https://people.planningcenteronline.com/static/no_photo_thumbnail_gray.png"
        set(&v, k, "accounting_administrator", .bool(rng.chance(0.01)))
        set(&v, k, "anniversary", rng.chance(0.3) && !child ? .date(rng.int(in: 3000 ... 19000)) : .null)
        set(&v, k, "avatar", .string(avatar))
        let birthDays = child ? rng.int(in: 13000 ... 19500) : rng.int(in: -8000 ... 12000)
        set(&v, k, "birthdate", rng.chance(0.7) ? .date(birthDays) : .null)
        set(&v, k, "can_create_forms", .bool(rng.chance(0.05)))
        set(&v, k, "can_email_lists", .bool(rng.chance(0.1)))
        set(&v, k, "child", .bool(child))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "demographic_avatar_url", .string(avatar))
        set(&v, k, "directory_status", .string(rng.pick(["no_access", "limited", "full"])))
        set(&v, k, "first_name", .string(first))
        set(&v, k, "gender", rng.chance(0.8) ? .string(rng.chance(0.5) ? "M" : "F") : .null)
        set(&v, k, "given_name", rng.chance(0.05) ? .string(rng.pick(SampleNames.firstNames)) : .null)
        set(&v, k, "grade", child ? .int(rng.int(in: 0 ... 12)) : .null)
        set(&v, k, "graduation_year", child ? .int(rng.int(in: 2026 ... 2038)) : .null)
        let inactive = rng.chance(0.08)
        set(&v, k, "inactivated_at", inactive ? .dateTime(updated) : .null)
        set(&v, k, "last_name", .string(last))
        set(&v, k, "login_identifier", rng.chance(0.5) ? .string(emailAddress(first, last, 0)) : .null)
        set(&v, k, "medical_notes", rng.chance(0.03) ? .string("Peanut allergy") : .null)
        set(&v, k, "membership", rng.chance(0.75) ? .string(rng.pick(SampleNames.memberships)) : .null)
        set(&v, k, "mfa_configured", .bool(rng.chance(0.05)))
        set(&v, k, "middle_name", rng.chance(0.3) ? .string(rng.pick(SampleNames.firstNames)) : .null)
        set(&v, k, "name", .string("\(first) \(last)"))
        set(&v, k, "nickname", rng.chance(0.1) ? .string(String(first.prefix(3))) : .null)
        set(&v, k, "passed_background_check", .bool(rng.chance(0.2)))
        set(&v, k, "people_permissions", rng.chance(0.05) ? .string("Editor") : .null)
        set(&v, k, "remote_id", rng.chance(0.2) ? .int(rng.int(in: 1000 ... 999_999)) : .null)
        set(&v, k, "school_type", child ? .string(rng.pick(["Elementary", "Middle School", "High School"])) : .null)
        set(&v, k, "site_administrator", .bool(rng.chance(0.01)))
        set(&v, k, "status", .string(inactive ? "inactive" : "active"))
        set(&v, k, "updated_at", .dateTime(updated))
        return SimRecord(id: id, values: v, toOne: [campusID])
    }

    func emailAddress(_ first: String, _ last: String, _ n: Int) -> String {
        let local = (first + "." + last).lowercased().filter { $0.isASCII && ($0.isLetter || $0 == ".") }
        return "\(local)\(n > 0 ? String(n) : "")@\(SampleNames.emailDomains[(first.count + last.count) % 4])"
    }

    mutating func email(id: Int, personID: Int, first: String, last: String, primary: Bool, created: Int64, updated: Int64) -> SimRecord {
        let k = ResourceKind.email
        var v = blank(k)
        set(&v, k, "address", .string(emailAddress(first, last, primary ? 0 : rng.int(in: 2 ... 99))))
        set(&v, k, "blocked", .bool(rng.chance(0.02)))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "location", .string(primary ? "Home" : rng.pick(SampleNames.locations)))
        set(&v, k, "primary", .bool(primary))
        set(&v, k, "updated_at", .dateTime(updated))
        return SimRecord(id: id, values: v, toOne: [personID])
    }

    mutating func phoneNumber(id: Int, personID: Int, primary: Bool, created: Int64, updated: Int64) -> SimRecord {
        let k = ResourceKind.phoneNumber
        var v = blank(k)
        let area = rng.int(in: 201 ... 989), exchange = rng.int(in: 200 ... 999), line = rng.int(in: 0 ... 9999)
        let lineText = String(repeating: "0", count: 4 - String(line).count) + String(line)
        let national = "(\(area)) \(exchange)-\(lineText)"
        set(&v, k, "carrier", rng.chance(0.3) ? .string(rng.pick(SampleNames.carriers)) : .null)
        set(&v, k, "country_code", .string("US"))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "e164", .string("+1\(area)\(exchange)\(lineText)"))
        set(&v, k, "international", .string("+1 \(area)-\(exchange)-\(lineText)"))
        set(&v, k, "location", .string(primary ? "Mobile" : rng.pick(SampleNames.locations)))
        set(&v, k, "national", .string(national))
        set(&v, k, "number", .string(national))
        set(&v, k, "primary", .bool(primary))
        set(&v, k, "updated_at", .dateTime(updated))
        return SimRecord(id: id, values: v, toOne: [personID])
    }

    mutating func address(id: Int, personID: Int, primary: Bool, created: Int64, updated: Int64) -> SimRecord {
        let k = ResourceKind.address
        var v = blank(k)
        let place = rng.pick(SampleNames.cities)
        set(&v, k, "city", .string(place.city))
        set(&v, k, "country_code", .string("US"))
        set(&v, k, "country_name", .string("United States"))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "location", .string(primary ? "Home" : rng.pick(SampleNames.locations)))
        set(&v, k, "primary", .bool(primary))
        set(&v, k, "state", .string(place.state))
        set(&v, k, "street_line_1", .string("\(rng.int(in: 1 ... 9999)) \(rng.pick(SampleNames.streets))"))
        set(&v, k, "street_line_2", rng.chance(0.15) ? .string("Apt \(rng.int(in: 1 ... 40))") : .null)
        set(&v, k, "updated_at", .dateTime(updated))
        set(&v, k, "zip", .string(place.zip))
        return SimRecord(id: id, values: v, toOne: [personID])
    }

    mutating func household(id: Int, lastName: String, primaryContact: (id: Int, name: String)?, memberCount: Int, created: Int64, updated: Int64) -> SimRecord {
        let k = ResourceKind.household
        var v = blank(k)
        set(&v, k, "avatar", .string("https://people.planningcenteronline.com/static/no_photo_thumbnail_household.png"))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "member_count", .int(memberCount))
        set(&v, k, "name", .string("\(lastName) Household"))
        set(&v, k, "primary_contact_id", primaryContact.map { .string(String($0.id)) } ?? .null)
        set(&v, k, "primary_contact_name", primaryContact.map { .string($0.name) } ?? .null)
        set(&v, k, "updated_at", .dateTime(updated))
        return SimRecord(id: id, values: v, toOne: [primaryContact?.id])
    }

    mutating func householdMembership(id: Int, householdID: Int, personID: Int, personName: String) -> SimRecord {
        let k = ResourceKind.householdMembership
        var v = blank(k)
        set(&v, k, "pending", .bool(rng.chance(0.02)))
        set(&v, k, "person_name", .string(personName))
        return SimRecord(id: id, values: v, toOne: [householdID, personID])
    }

    mutating func campus(id: Int, index: Int, created: Int64, updated: Int64) -> SimRecord {
        let k = ResourceKind.campus
        var v = blank(k)
        let place = rng.pick(SampleNames.cities)
        set(&v, k, "avatar_url", .null)
        set(&v, k, "church_center_enabled", .bool(true))
        set(&v, k, "city", .string(place.city))
        set(&v, k, "contact_email_address", .string("office\(index)@example.org"))
        set(&v, k, "country", .string("US"))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "date_format", .int(0))
        set(&v, k, "description", .string(""))
        set(&v, k, "geolocation_set_manually", .bool(false))
        set(&v, k, "latitude", .double(Double(rng.int(in: 30_000 ... 45_000)) / 1000))
        set(&v, k, "longitude", .double(-Double(rng.int(in: 75_000 ... 120_000)) / 1000))
        set(&v, k, "name", .string(SampleNames.campusNames[index % SampleNames.campusNames.count]))
        set(&v, k, "phone_number", .string("(555) 010-\(1000 + index)"))
        set(&v, k, "state", .string(place.state))
        set(&v, k, "street", .string("\(rng.int(in: 1 ... 999)) \(rng.pick(SampleNames.streets))"))
        set(&v, k, "time_zone", .string(orgTimeZone))
        set(&v, k, "twenty_four_hour_time", .bool(false))
        set(&v, k, "updated_at", .dateTime(updated))
        set(&v, k, "website", .string("https://example.org/campus/\(index)"))
        set(&v, k, "zip", .string(place.zip))
        return SimRecord(id: id, values: v, toOne: [])
    }

    mutating func personMerger(id: Int, keep: Int, remove: Int, created: Int64) -> SimRecord {
        let k = ResourceKind.personMerger
        var v = blank(k)
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "person_to_keep_id", .int(keep))
        set(&v, k, "person_to_remove_id", .int(remove))
        return SimRecord(id: id, values: v, toOne: [keep, remove])
    }

    mutating func groupType(id: Int, index: Int) -> SimRecord {
        let k = ResourceKind.groupType
        var v = blank(k)
        set(&v, k, "church_center_map_visible", .bool(rng.chance(0.5)))
        set(&v, k, "church_center_visible", .bool(rng.chance(0.7)))
        set(&v, k, "color", .string(rng.pick(["#4caf50", "#2196f3", "#ff9800", "#9c27b0", "#f44336"])))
        set(&v, k, "default_group_settings", .string("{\"enrollment_strategy\":\"request_to_join\"}"))
        set(&v, k, "description", .string(""))
        set(&v, k, "name", .string(SampleNames.groupTypeNames[index % SampleNames.groupTypeNames.count]))
        set(&v, k, "position", .int(index))
        set(&v, k, "public_church_center_web_url", .string("https://example.churchcenter.com/groups/\(id)"))
        return SimRecord(id: id, values: v, toOne: [])
    }

    mutating func group(id: Int, groupTypeID: Int?, created: Int64) -> SimRecord {
        let k = ResourceKind.group
        var v = blank(k)
        let name = "\(rng.pick(SampleNames.groupWords)) \(rng.pick(["Group", "Team", "Study", "Circle"]))"
        set(&v, k, "archived_at", rng.chance(0.1) ? .dateTime(created + Int64(rng.int(in: 86_400 ... 9_000_000))) : .null)
        set(&v, k, "chat_enabled", .bool(rng.chance(0.6)))
        set(&v, k, "contact_email", .string("groups@example.org"))
        set(&v, k, "created_at", .dateTime(created))
        set(&v, k, "description", .string("<p>\(name)</p>"))
        set(&v, k, "events_visibility", .string(rng.pick(["members", "public"])))
        set(&v, k, "header_image", .json(
            "{\"thumbnail\":\"https://example.org/h/\(id)-t.png\",\"medium\":\"https://example.org/h/\(id)-m.png\",\"original\":\"https://example.org/h/\(id).png\"}"
        ))
        set(&v, k, "listed", .bool(rng.chance(0.8)))
        set(&v, k, "location_type_preference", .string(rng.pick(["physical", "virtual"])))
        set(&v, k, "members_are_confidential", .bool(rng.chance(0.1)))
        set(&v, k, "memberships_count", .int(0))
        set(&v, k, "name", .string(name))
        set(&v, k, "public_church_center_web_url", .string("https://example.churchcenter.com/groups/g/\(id)"))
        set(&v, k, "schedule", .string(rng.pick(["Tuesdays at 7pm", "Sundays at 9am", "Every other Friday", ""])))
        set(&v, k, "virtual_location_url", .null)
        set(&v, k, "widget_status", .json("{}"))
        return SimRecord(id: id, values: v, toOne: [groupTypeID])
    }

    mutating func event(id: Int, groupID: Int, groupName: String, startsAt: Int64) -> SimRecord {
        let k = ResourceKind.event
        var v = blank(k)
        let canceled = rng.chance(0.05)
        set(&v, k, "attendance_requests_enabled", .bool(rng.chance(0.3)))
        set(&v, k, "automated_reminder_enabled", .bool(rng.chance(0.5)))
        set(&v, k, "canceled", .bool(canceled))
        set(&v, k, "canceled_at", canceled ? .dateTime(startsAt - 86_400) : .null)
        set(&v, k, "description", .null)
        set(&v, k, "ends_at", .dateTime(startsAt + 5400))
        set(&v, k, "location_type_preference", .string("physical"))
        set(&v, k, "multi_day", .bool(false))
        set(&v, k, "name", .string(groupName))
        set(&v, k, "reminders_sent", .bool(startsAt < referenceTime))
        set(&v, k, "reminders_sent_at", startsAt < referenceTime ? .dateTime(startsAt - 86_400) : .null)
        set(&v, k, "repeating", .bool(rng.chance(0.6)))
        set(&v, k, "starts_at", .dateTime(startsAt))
        set(&v, k, "virtual_location_url", .null)
        set(&v, k, "visitors_count", .int(rng.int(in: 0 ... 4)))
        return SimRecord(id: id, values: v, toOne: [groupID])
    }

    mutating func membership(id: Int, groupID: Int, personID: Int, first: String, last: String, joinedAt: Int64) -> SimRecord {
        let k = ResourceKind.membership
        var v = blank(k)
        set(&v, k, "avatar_url", .string("https://people.planningcenteronline.com/static/no_photo_thumbnail_gray.png"))
        set(&v, k, "first_name", .string(first))
        set(&v, k, "joined_at", .dateTime(joinedAt))
        set(&v, k, "last_name", .string(last))
        set(&v, k, "role", .string(rng.chance(0.1) ? "leader" : "member"))
        return SimRecord(id: id, values: v, toOne: [groupID, personID])
    }

    /// A plausible edit of a record, as a person using PCO would make it. Does not touch `updated_at`.
    mutating func edit(_ kind: ResourceKind, _ record: SimRecord) -> SimRecord {
        var r = record
        let s = kind.schema
        switch kind {
        case .person:
            switch rng.int(in: 0 ... 3) {
            case 0:
                let last = rng.pick(SampleNames.lastNames)
                r[s, attribute: "last_name"] = .string(last)
                let first = r[s, attribute: "first_name"].filterText ?? ""
                r[s, attribute: "name"] = .string("\(first) \(last)")
            case 1: r[s, attribute: "membership"] = .string(rng.pick(SampleNames.memberships))
            case 2: r[s, attribute: "nickname"] = rng.chance(0.5) ? .string(rng.pick(SampleNames.firstNames)) : .null
            default: r[s, attribute: "medical_notes"] = .string("Updated note \(rng.int(in: 1 ... 999))")
            }
        case .email:
            r[s, attribute: "location"] = .string(rng.pick(SampleNames.locations))
        case .phoneNumber:
            r[s, attribute: "carrier"] = .string(rng.pick(SampleNames.carriers))
        case .address:
            r[s, attribute: "street_line_1"] = .string("\(rng.int(in: 1 ... 9999)) \(rng.pick(SampleNames.streets))")
        case .household:
            r[s, attribute: "name"] = .string("\(rng.pick(SampleNames.lastNames)) Household")
        case .campus:
            r[s, attribute: "phone_number"] = .string("(555) 020-\(rng.int(in: 1000 ... 9999))")
        case .group:
            r[s, attribute: "schedule"] = .string(rng.pick(["Mondays at 6pm", "Thursdays at 7pm", "Saturdays at 8am"]))
        case .groupType:
            r[s, attribute: "description"] = .string("Updated \(rng.int(in: 1 ... 999))")
        case .event:
            r[s, attribute: "visitors_count"] = .int(rng.int(in: 0 ... 9))
        case .membership:
            r[s, attribute: "role"] = .string(r[s, attribute: "role"] == .string("leader") ? "member" : "leader")
        case .householdMembership:
            r[s, attribute: "pending"] = .bool(!(r[s, attribute: "pending"] == .bool(true)))
        case .personMerger:
            break
        }
        return r
    }
}
