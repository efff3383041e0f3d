import SyncCore

/// A ``CredentialStore`` in memory, for tests and for a PAT given on the command line.
public actor InMemoryCredentialStore: CredentialStore {
    private var credentials: [String: VersionedCredential] = [:]

    public init(_ initial: [String: StoredCredential] = [:]) {
        credentials = initial.mapValues { VersionedCredential(credential: $0, version: 1) }
    }

    public func loadCredential(orgID: String) -> VersionedCredential? { credentials[orgID] }

    public func saveCredential(_ credential: StoredCredential, orgID: String) -> Int64 {
        let version = (credentials[orgID]?.version ?? 0) + 1
        credentials[orgID] = VersionedCredential(credential: credential, version: version)
        return version
    }

    public func replaceCredential(_ credential: StoredCredential, orgID: String, expectedVersion: Int64) -> Int64? {
        guard let stored = credentials[orgID], stored.version == expectedVersion else { return nil }
        credentials[orgID] = VersionedCredential(credential: credential, version: expectedVersion + 1)
        return expectedVersion + 1
    }
}
