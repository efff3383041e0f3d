import Foundation
import PCOSimulator
import PlanningCenter
import SyncCore
import SyncPostgres
import Testing

/// OAuth against the simulator's token endpoint, tokens stored encrypted in a real Postgres.
@Suite("OAuth tokens against the simulator and Postgres")
struct AuthOAuthRefreshTests {
    @Test("the access token expires mid-fetch: one refresh, the fetch continues, the rotated pair is stored")
    func expiryMidFetch() async throws {
        try await HTTPSimulatorFixture.with({
            $0.peoplePerOrg = 30
            $0.faults.rateLimit.enabled = false
        }) { fixture in
            try await TokenDatabase.with(orgID: fixture.org.id) { store in
                let orgID = fixture.org.id
                #expect(try await store.saveCredential(fixture.initialOAuthCredential, orgID: orgID) == 1)
                let credentials = fixture.provider(store: store)
                let counters = PCORequestCounters()
                let client = fixture.client(credentials: credentials, counters: counters)
                var ids: [String] = []
                var pages = 0
                for try await page in client.pages(PCOListRequest(path: "/people/v2/people", perPage: 1)) {
                    ids += page.document.resources.map(\.id)
                    pages += 1
                    if pages == 10 { try await fixture.setFaults(#"{"expire_tokens": ["\#(orgID)"]}"#) }
                }
                #expect(Set(ids).count == 30)
                #expect(await credentials.refreshCount == 1)
                #expect(counters.snapshot().unauthorizedRefreshes == 1)
                let log = try await fixture.requestLog()
                #expect(log.filter { $0.path.hasPrefix("/oauth/token") }.count == 1)
                #expect(log.filter { $0.status == 401 }.count == 1)

                let stored = try #require(try await store.loadCredential(orgID: orgID))
                #expect(stored.version == 2)
                let current = try #require(fixture.simulator.currentTokens(org: orgID))
                #expect(stored.credential.oauthTokens?.accessToken == current.accessToken)
                #expect(stored.credential.oauthTokens?.refreshToken == current.refreshToken)
            }
        }
    }

    @Test("eight concurrent callers needing a refresh share one refresh (single-flight)")
    func singleFlight() async throws {
        try await HTTPSimulatorFixture.with({ $0.faults.rateLimit.enabled = false }) { fixture in
            let orgID = fixture.org.id
            var tokens = try #require(fixture.initialOAuthCredential.oauthTokens)
            tokens.accessExpiresAt = 0  // due for refresh
            let store = InMemoryCredentialStore([orgID: .oauth(tokens)])
            let credentials = fixture.provider(store: store)
            let headers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await credentials.authorization().headerValue } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(headers.count == 1)
            #expect(await credentials.refreshCount == 1)
            let log = try await fixture.requestLog()
            #expect(log.filter { $0.path.hasPrefix("/oauth/token") }.count == 1)
            #expect(await store.loadCredential(orgID: orgID)?.version == 2)
        }
    }

    @Test("a reused refresh token: a clear invalid_grant error, no retry loop")
    func reusedRefreshToken() async throws {
        try await HTTPSimulatorFixture.with({ $0.faults.rateLimit.enabled = false }) { fixture in
            let orgID = fixture.org.id
            var expired = try #require(fixture.initialOAuthCredential.oauthTokens)
            expired.accessExpiresAt = 0
            let stale = expired
            try await TokenDatabase.with(orgID: orgID) { store in
                // This process refreshes first and rotates the refresh token.
                _ = try await store.saveCredential(.oauth(stale), orgID: orgID)
                let first = fixture.provider(store: store)
                _ = try await first.authorization()
                #expect(await first.refreshCount == 1)
            }
            // Another deployment still holds the old pair and tries to use its (spent) refresh token.
            let second = fixture.provider(store: InMemoryCredentialStore([orgID: .oauth(stale)]))
            let error = await #expect(throws: PCOAuthError.self) { _ = try await second.authorization() }
            #expect(error?.code == .refreshTokenRejected)
            #expect(error?.oauthError == "invalid_grant")
            #expect(error?.orgID == orgID)
            #expect(error.map { "\($0)".contains("authorize the app again") } == true)

            // Later requests fail at once, without spending more requests on the token endpoint.
            let client = fixture.client(credentials: second)
            await #expect(throws: PCOAuthError.self) { _ = try await client.get(path: "/people/v2/people") }
            await #expect(throws: PCOAuthError.self) { _ = try await second.authorization() }
            let log = try await fixture.requestLog()
            #expect(log.filter { $0.path.hasPrefix("/oauth/token") }.count == 2)
            #expect(log.filter { $0.path.hasPrefix("/people/") }.isEmpty)
        }
    }

    @Test("a personal access token authenticates with HTTP Basic")
    func personalAccessToken() async throws {
        try await HTTPSimulatorFixture.with({ $0.faults.rateLimit.enabled = false }) { fixture in
            let credentials = fixture.provider(store: InMemoryCredentialStore([fixture.org.id: fixture.patCredential]))
            let client = fixture.client(credentials: credentials)
            let response = try await client.get(path: "/people/v2/people", query: [PCOQueryItem("per_page", "1")])
            #expect(response.status == 200)
            #expect(response.header("X-PCO-API-Auth-Method") == "HTTPBasic")
            let log = try await fixture.requestLog()
            #expect(log.last?.credential == "pat:\(fixture.org.patAppID)")
        }
    }
}
