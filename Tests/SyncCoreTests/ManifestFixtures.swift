@testable import SyncCore

/// Small manifests for graph tests: each entity is named, its relationships given as (target, kind).
func manifest(_ entities: [(String, [(String, DependencyKind)])]) -> EntityManifest {
    EntityManifest(adapter: "test", entities: entities.map { name, relationships in
        EntityDefinition(
            name: name,
            typeNames: [name],
            endpoint: ListEndpoint(path: "/\(name.lowercased())"),
            hasUpdatedAt: true,
            relationships: relationships.enumerated().map { position, relationship in
                Relationship(name: "\(relationship.0.lowercased())_\(position)", target: relationship.0, dependency: relationship.1)
            }
        )
    })
}

/// A deterministic generator for property tests (SplitMix64), so a failure reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
