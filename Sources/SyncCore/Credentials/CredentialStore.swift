/// Where credentials live between runs (Postgres in production, memory in tests).
///
/// The adapter refreshes tokens through this protocol and the store never imports an adapter.
public protocol CredentialStore: Sendable {
    /// The organization's credential, or nil when none is stored.
    func loadCredential(orgID: String) async throws -> VersionedCredential?

    /// Stores (or overwrites) the organization's credential; returns the new version.
    func saveCredential(_ credential: StoredCredential, orgID: String) async throws -> Int64

    /// Replaces the stored credential only if it is still at `expectedVersion`, in one atomic step, so a
    /// rotated refresh token is never stored apart from its access token and a concurrent refresher that
    /// lost the race finds out. Returns the new version, or nil when the version had moved on.
    func replaceCredential(_ credential: StoredCredential, orgID: String, expectedVersion: Int64) async throws -> Int64?
}
