import Foundation
import Testing
@testable import PCOSimulator

/// OAuth: code exchange, single-use rotating refresh tokens, expiry and revocation hints.
@Suite struct OAuthTests {
    func form(_ fields: [String: String]) -> [UInt8] {
        Array(fields.map { "\($0.key)=\(QueryString.encodeValue($0.value))" }.joined(separator: "&").utf8)
    }

    @Test func refreshRotatesAndRefusesReuse() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 10 }
        defer { Task { await sim.stop() } }
        let org = sim.simulator.organizations[0]
        let initial = try #require(sim.simulator.currentTokens(org: "1"))
        #expect(initial.expiresIn == 7200)

        let refreshed = try await sim.request(.POST, "/oauth/token", body: form([
            "grant_type": "refresh_token", "refresh_token": initial.refreshToken,
            "client_id": org.oauthClientID, "client_secret": org.oauthClientSecret,
        ]), contentType: "application/x-www-form-urlencoded")
        #expect(refreshed.status == 200)
        let pair = refreshed.object
        let newAccess = try #require(pair["access_token"] as? String)
        #expect(pair["refresh_token"] as? String != initial.refreshToken)
        #expect(pair["token_type"] as? String == "bearer")
        #expect(pair["expires_in"] as? Int == 7200)
        #expect(try await sim.request(.GET, "/people/v2/people", authorization: "Bearer \(newAccess)").status == 200)

        // The spent refresh token is refused.
        let reused = try await sim.request(.POST, "/oauth/token", body: Array(try JSONSerialization.data(withJSONObject: [
            "grant_type": "refresh_token", "refresh_token": initial.refreshToken,
            "client_id": org.oauthClientID, "client_secret": org.oauthClientSecret,
        ])))
        #expect(reused.status == 401)
        #expect(reused.object["error"] as? String == "invalid_grant")

        let badClient = try await sim.request(.POST, "/oauth/token", body: form([
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"] as! String,
            "client_id": org.oauthClientID, "client_secret": "wrong",
        ]), contentType: "application/x-www-form-urlencoded")
        #expect(badClient.status == 401)
        #expect(badClient.object["error"] as? String == "invalid_client")
    }

    @Test func authorizationCodeFlowAndForcedExpiryAndRevocation() async throws {
        let sim = try await SimulatorHarness.start { $0.peoplePerOrg = 10 }
        defer { Task { await sim.stop() } }
        let org = sim.simulator.organizations[0]
        let authorize = try await sim.request(.GET, "/oauth/authorize?client_id=\(org.oauthClientID)&redirect_uri=http://127.0.0.1:1/cb&response_type=code&scope=people")
        #expect(authorize.status == 302)
        let location = try #require(authorize.headers["location"])
        let code = try #require(location.components(separatedBy: "code=").last)
        let token = try await sim.request(.POST, "/oauth/token", body: form([
            "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:1/cb",
            "client_id": org.oauthClientID, "client_secret": org.oauthClientSecret,
        ]), contentType: "application/x-www-form-urlencoded")
        #expect(token.status == 200)
        let access = try #require(token.object["access_token"] as? String)
        let refresh = try #require(token.object["refresh_token"] as? String)
        #expect(try await sim.request(.GET, "/people/v2/people", authorization: "Bearer \(access)").status == 200)

        _ = try await sim.control(.POST, "/__sim/faults", json: ["expire_tokens": ["1"]])
        let expired = try await sim.request(.GET, "/people/v2/people", authorization: "Bearer \(access)")
        #expect(expired.status == 401)
        #expect((expired.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "BABOON")

        _ = try await sim.control(.POST, "/__sim/faults", json: ["revoke_tokens": ["1"]])
        let revoked = try await sim.request(.GET, "/people/v2/people", authorization: "Bearer \(access)")
        #expect((revoked.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "CAPUCHIN")
        let refreshAfterRevoke = try await sim.request(.POST, "/oauth/token", body: form([
            "grant_type": "refresh_token", "refresh_token": refresh,
            "client_id": org.oauthClientID, "client_secret": org.oauthClientSecret,
        ]), contentType: "application/x-www-form-urlencoded")
        #expect(refreshAfterRevoke.status == 401)
        #expect(refreshAfterRevoke.object["error"] as? String == "invalid_grant")
    }

    @Test func tokenExpiryFollowsTheInjectedClock() {
        var server = OAuthServer(seed: 1)
        server.register(clientID: "c", secret: "s", orgID: "1")
        let pair = server.issue(orgID: "1", clientID: "c", scope: "people", now: 1000, lifetime: 60)
        #expect((try? server.authenticate(bearer: pair.accessToken, now: 1059).get()) == "1")
        if case .failure(let error) = server.authenticate(bearer: pair.accessToken, now: 1060) {
            #expect(error.code == "BABOON")
        } else {
            Issue.record("token still valid after its lifetime")
        }
    }
}
