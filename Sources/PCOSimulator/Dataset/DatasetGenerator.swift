/// What to generate for one organization.
struct DatasetSpec: Sendable {
    var orgIndex: Int
    var people: Int
    var seed: UInt64
    /// Generated timestamps lie in the three years before this instant (seconds since 1970).
    var referenceTime: Int64
}

/// Generates a realistic church dataset, deterministically from a seed. Pure: no clock, no I/O.
///
/// Ratios follow a typical congregation: ≈0.4 households per person (85% of people in one, 1–5
/// members), 0.9 emails, 0.8 phone numbers and 0.5 addresses per person, 1–5 campuses, 3–8 group
/// types, one group per 25 people (at least 3) with 5–20 memberships and 2–10 events each, a few
/// person mergers. Ids are sparse increasing numeric strings, distinct per kind and org.
enum DatasetGenerator {
    static func organization(_ spec: DatasetSpec) -> SimulatedOrg {
        var rng = SeededGenerator(seed: spec.seed, stream: UInt64(spec.orgIndex) &* 7919 &+ 17)
        let name = SampleNames.churchNames[spec.orgIndex % SampleNames.churchNames.count]
        let suffix = spec.orgIndex >= SampleNames.churchNames.count ? " \(spec.orgIndex + 1)" : ""
        return SimulatedOrg(
            id: String(spec.orgIndex + 1),
            name: name + suffix,
            timeZone: SampleNames.timeZones[spec.orgIndex % SampleNames.timeZones.count],
            patAppID: "pat-\(spec.orgIndex + 1)-" + rng.hexToken(bytes: 8),
            patSecret: rng.hexToken(bytes: 24),
            oauthClientID: "client-\(spec.orgIndex + 1)-" + rng.hexToken(bytes: 8),
            oauthClientSecret: rng.hexToken(bytes: 24)
        )
    }

    static func data(_ spec: DatasetSpec, timeZone: String) -> OrgData {
        var rng = SeededGenerator(seed: spec.seed, stream: UInt64(spec.orgIndex) &* 104_729 &+ 3)
        var factory = RecordFactory(
            rng: SeededGenerator(seed: rng.next()), referenceTime: spec.referenceTime, orgTimeZone: timeZone
        )
        var data = OrgData()
        // Sparse ids: every kind starts somewhere random in its own range and grows with gaps.
        for kind in ResourceKind.allCases {
            let base = spec.orgIndex * 1_000_000_000 + (kind.rawValue + 1) * 20_000_000 + rng.int(in: 0 ... 999_999)
            _ = data.issueID(kind, gap: base)
        }
        func nextID(_ kind: ResourceKind) -> Int { data.issueID(kind, gap: rng.int(in: 1 ... 12)) }

        // Campuses.
        var campusIDs: [Int] = []
        for index in 0 ..< rng.int(in: 1 ... 5) {
            let t = factory.historicTimestamps()
            let id = nextID(.campus)
            data.insert(.campus, factory.campus(id: id, index: index, created: t.created, updated: t.updated))
            campusIDs.append(id)
        }

        // People, arranged into households as they are made: consecutive people share a household.
        var people: [(id: Int, first: String, last: String)] = []
        people.reserveCapacity(spec.people)
        var householdPlan: [[Int]] = []  // indexes into `people`
        var current: [Int] = []
        var currentSize = 0
        var currentLast = ""
        for index in 0 ..< spec.people {
            var (first, last) = factory.personName()
            let inHousehold = rng.chance(0.85)
            if inHousehold {
                if current.isEmpty {
                    let roll = rng.unit()
                    currentSize = roll < 0.35 ? 1 : roll < 0.70 ? 2 : roll < 0.82 ? 3 : roll < 0.94 ? 4 : 5
                    currentLast = last
                }
                last = currentLast
                current.append(index)
                if current.count == currentSize {
                    householdPlan.append(current)
                    current = []
                }
            }
            let t = factory.historicTimestamps()
            let id = nextID(.person)
            let campus = campusIDs.isEmpty || rng.chance(0.2) ? nil : rng.pick(campusIDs)
            data.insert(.person, factory.person(id: id, first: first, last: last, campusID: campus, created: t.created, updated: t.updated))
            people.append((id, first, last))
        }
        if !current.isEmpty { householdPlan.append(current) }

        for members in householdPlan {
            let t = factory.historicTimestamps()
            let head = people[members[0]]
            let householdID = nextID(.household)
            data.insert(.household, factory.household(
                id: householdID, lastName: head.last, primaryContact: (head.id, "\(head.first) \(head.last)"),
                memberCount: members.count, created: t.created, updated: t.updated
            ))
            for m in members {
                let p = people[m]
                data.insert(.householdMembership, factory.householdMembership(
                    id: nextID(.householdMembership), householdID: householdID, personID: p.id, personName: "\(p.first) \(p.last)"
                ))
            }
        }

        // Contact details per person.
        for p in people {
            let emailCount = weighted(&rng, [0.2, 0.7, 0.1])
            for n in 0 ..< emailCount {
                let t = factory.historicTimestamps()
                data.insert(.email, factory.email(id: nextID(.email), personID: p.id, first: p.first, last: p.last, primary: n == 0, created: t.created, updated: t.updated))
            }
            let phoneCount = weighted(&rng, [0.3, 0.6, 0.1])
            for n in 0 ..< phoneCount {
                let t = factory.historicTimestamps()
                data.insert(.phoneNumber, factory.phoneNumber(id: nextID(.phoneNumber), personID: p.id, primary: n == 0, created: t.created, updated: t.updated))
            }
            if rng.chance(0.5) {
                let t = factory.historicTimestamps()
                data.insert(.address, factory.address(id: nextID(.address), personID: p.id, primary: true, created: t.created, updated: t.updated))
            }
        }

        // Groups.
        var groupTypeIDs: [Int] = []
        for index in 0 ..< rng.int(in: 3 ... 8) {
            let id = nextID(.groupType)
            data.insert(.groupType, factory.groupType(id: id, index: index))
            groupTypeIDs.append(id)
        }
        let groupCount = max(3, spec.people / 25)
        for _ in 0 ..< groupCount {
            let created = factory.historicTimestamps().created
            let groupID = nextID(.group)
            var group = factory.group(id: groupID, groupTypeID: rng.chance(0.9) ? rng.pick(groupTypeIDs) : nil, created: created)
            let groupName = group[ResourceKind.group.schema, attribute: "name"].filterText ?? "Group"
            var memberCount = 0
            if !people.isEmpty {
                var chosen = Set<Int>()
                let target = min(people.count, rng.int(in: 5 ... 20))
                while chosen.count < target { chosen.insert(rng.int(in: 0 ... people.count - 1)) }
                for index in chosen.sorted() {
                    let p = people[index]
                    let joined = created + Int64(rng.int(in: 0 ... 20_000_000))
                    data.insert(.membership, factory.membership(id: nextID(.membership), groupID: groupID, personID: p.id, first: p.first, last: p.last, joinedAt: joined))
                    memberCount += 1
                }
            }
            group[ResourceKind.group.schema, attribute: "memberships_count"] = .int(memberCount)
            data.insert(.group, group)
            for _ in 0 ..< rng.int(in: 2 ... 10) {
                let startsAt = spec.referenceTime + Int64(rng.int(in: -20_000_000 ... 5_000_000)) / 900 * 900
                data.insert(.event, factory.event(id: nextID(.event), groupID: groupID, groupName: groupName, startsAt: startsAt))
            }
        }

        // A few historic merges; the removed people no longer exist, as in PCO.
        if !people.isEmpty {
            for _ in 0 ..< min(3, max(1, spec.people / 1000)) {
                let keep = rng.pick(people).id
                let removed = data.issueID(.person, gap: rng.int(in: 1 ... 12))
                let created = factory.historicTimestamps().updated
                data.insert(.personMerger, factory.personMerger(id: nextID(.personMerger), keep: keep, remove: removed, created: created))
            }
        }
        return data
    }

    /// An index drawn with the given weights (which sum to 1).
    private static func weighted(_ rng: inout SeededGenerator, _ weights: [Double]) -> Int {
        var roll = rng.unit()
        for (i, w) in weights.enumerated() {
            if roll < w { return i }
            roll -= w
        }
        return weights.count - 1
    }
}
