import ArgumentParser
import AsyncHTTPClient
import Foundation
import PostgresNIO
import SyncCore
import SyncPostgres

/// `syncengine org`: register organizations and their (encrypted) credentials.
struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Manage organizations.", subcommands: [Add.self, ImportSimulator.self, List.self]
    )

    /// `syncengine org add`: one organization with a PAT or OAuth tokens.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an organization and its credential (stored encrypted with $SYNC_TOKEN_KEY).")

        @OptionGroup var postgres: PostgresOptions
        @Option(help: "Our id for the organization.") var id: String
        @Option(help: "A display name.") var name: String?
        @Option(help: "The API base URL, e.g. https://api.planningcenteronline.com or the simulator's.") var apiBaseURL: String
        @Option(help: "Personal access token as APP_ID:SECRET.") var pat: String?
        @Option(help: "OAuth application id.") var oauthClientID: String?
        @Option(help: "OAuth application secret.") var oauthClientSecret: String?
        @Option(help: "OAuth access token.") var accessToken: String?
        @Option(help: "OAuth refresh token.") var refreshToken: String?
        @Option(help: "Seconds until the access token expires (default 7200).") var expiresIn: Int64 = 7200

        func validate() throws {
            let oauth = [oauthClientID, oauthClientSecret, accessToken, refreshToken]
            if pat != nil && oauth.contains(where: { $0 != nil }) {
                throw ValidationError("give either --pat or the OAuth options, not both")
            }
            if pat == nil && oauth.contains(where: { $0 == nil }) {
                throw ValidationError("give --pat APP_ID:SECRET, or all of --oauth-client-id, --oauth-client-secret, --access-token, --refresh-token")
            }
            if let pat, !pat.contains(":") { throw ValidationError("--pat must be APP_ID:SECRET") }
        }

        func run() async throws {
            let credential: StoredCredential
            let application: OAuthApplication?
            if let pat, let colon = pat.firstIndex(of: ":") {
                credential = .personalAccessToken(appID: String(pat[..<colon]), secret: String(pat[pat.index(after: colon)...]))
                application = nil
            } else {
                credential = .oauth(OAuthTokens(accessToken: accessToken!, refreshToken: refreshToken!,
                                                accessExpiresAt: Int64(Date().timeIntervalSince1970) + expiresIn))
                application = OAuthApplication(clientID: oauthClientID!, clientSecret: oauthClientSecret!)
            }
            let organization = Organization(id: id, name: name ?? id, adapter: "pco", apiBaseURL: apiBaseURL)
            try await withOrganizationStore(postgres) { store in
                try await store.register(organization, credential: credential, oauthApplication: application)
            }
            print("registered \(id) (\(credential.kind)) at \(apiBaseURL)")
        }
    }

    /// `syncengine org import-sim`: every organization of a running simulator, with its PAT.
    struct ImportSimulator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "import-sim", abstract: "Register every organization of a PCO simulator.")

        @OptionGroup var postgres: PostgresOptions
        @Option(help: "The simulator's base URL (default: $SYNC_PCO_SIM_URL).") var simURL: String?
        @Flag(help: "Register the simulator's OAuth tokens instead of its PATs.") var oauth = false

        /// An entry of the simulator's `/__sim/orgs`.
        struct SimulatedOrg: Decodable {
            var id: String
            var name: String
            var patAppID: String
            var patSecret: String
            var oauthClientID: String?
            var oauthClientSecret: String?
            var accessToken: String?
            var refreshToken: String?
            var expiresAt: Int64?

            enum CodingKeys: String, CodingKey {
                case id, name, patAppID = "pat_app_id", patSecret = "pat_secret", oauthClientID = "oauth_client_id",
                     oauthClientSecret = "oauth_client_secret", accessToken = "access_token", refreshToken = "refresh_token",
                     expiresAt = "expires_at"
            }
        }

        func run() async throws {
            guard let base = simURL ?? ProcessInfo.processInfo.environment["SYNC_PCO_SIM_URL"] else {
                throw ValidationError("pass --sim-url or set SYNC_PCO_SIM_URL")
            }
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/__sim/orgs"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { throw CLIError("\(base)/__sim/orgs answered \(response.status.code)") }
            let orgs = try JSONDecoder().decode([SimulatedOrg].self, from: Data(buffer: body))
            try await withOrganizationStore(postgres) { store in
                for org in orgs {
                    let credential: StoredCredential
                    let application: OAuthApplication?
                    if oauth, let access = org.accessToken, let refresh = org.refreshToken,
                       let clientID = org.oauthClientID, let clientSecret = org.oauthClientSecret {
                        credential = .oauth(OAuthTokens(accessToken: access, refreshToken: refresh,
                                                        accessExpiresAt: org.expiresAt ?? Int64(Date().timeIntervalSince1970) + 7200))
                        application = OAuthApplication(clientID: clientID, clientSecret: clientSecret)
                    } else {
                        credential = .personalAccessToken(appID: org.patAppID, secret: org.patSecret)
                        application = nil
                    }
                    try await store.register(Organization(id: org.id, name: org.name, adapter: "pco", apiBaseURL: base),
                                             credential: credential, oauthApplication: application)
                    print("registered \(org.id) \(org.name) (\(credential.kind))")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered organizations.")
        @OptionGroup var postgres: PostgresOptions

        func run() async throws {
            try await withOrganizationStore(postgres) { store in
                for org in try await store.all() { print("\(org.id)\t\(org.name)\t\(org.apiBaseURL)") }
            }
        }
    }
}

/// Runs `body` with an organization store on a short-lived client.
func withOrganizationStore(_ options: PostgresOptions, _ body: @Sendable (OrganizationStore) async throws -> Void) async throws {
    let url = try options.url()
    let cipher = try tokenCipherFromEnvironment()
    let logger = commandLogger("syncengine.org")
    let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        do {
            try await body(OrganizationStore(client: client, cipher: cipher, logger: logger))
        } catch let error as PSQLError {
            throw CLIError("Postgres at \(url): \(describePostgresError(error))")
        }
    }
}
