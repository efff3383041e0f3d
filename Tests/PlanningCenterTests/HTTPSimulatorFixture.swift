import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PCOSimulator
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres
import SyncTestSupport

/// An in-process simulator on a free loopback port plus what the HTTP-client tests build on it.
struct HTTPSimulatorFixture {
    let simulator: PCOSimulator
    let baseURL: String
    var org: SimulatedOrg { simulator.organizations[0] }

    static func with<T>(
        _ configure: (inout SimulatorConfiguration) -> Void,
        _ body: (HTTPSimulatorFixture) async throws -> T
    ) async throws -> T {
        var configuration = SimulatorConfiguration()
        configuration.peoplePerOrg = 40
        configure(&configuration)
        let simulator = PCOSimulator(configuration: configuration)
        let baseURL = try await simulator.start()
        let fixture = HTTPSimulatorFixture(simulator: simulator, baseURL: baseURL)
        do {
            let result = try await body(fixture)
            await simulator.shutdown()
            return result
        } catch {
            await simulator.shutdown()
            throw error
        }
    }

    var patCredential: StoredCredential { .personalAccessToken(appID: org.patAppID, secret: org.patSecret) }

    var initialOAuthCredential: StoredCredential {
        let pair = simulator.currentTokens(org: org.id)!
        return .oauth(OAuthTokens(accessToken: pair.accessToken, refreshToken: pair.refreshToken,
                                  accessExpiresAt: Int64(pair.expiresAt), scope: pair.scope))
    }

    var oauthClient: OAuthClientCredentials {
        OAuthClientCredentials(clientID: org.oauthClientID, clientSecret: org.oauthClientSecret)
    }

    func provider(store: any CredentialStore, refreshSkew: Duration = .seconds(60)) -> PCOCredentialProvider {
        PCOCredentialProvider(
            configuration: .init(baseURL: baseURL, orgID: org.id, oauthClient: oauthClient, refreshSkew: refreshSkew),
            store: store, httpClient: HTTPClient.shared, logger: TestServices.logger
        )
    }

    func client(
        credentials: PCOCredentialProvider,
        limiter: PCORateLimiter? = nil,
        backoff: BackoffPolicy = BackoffPolicy(maxRetries: 5, base: .milliseconds(5), cap: .milliseconds(100)),
        counters: PCORequestCounters = PCORequestCounters(),
        recorder: RequestEventRecorder? = nil
    ) -> PCOClient {
        var observer: (@Sendable (PCORequestEvent) -> Void)?
        if let recorder { observer = { recorder.record($0) } }
        let limiter = limiter ?? PCORateLimiter(key: "org:\(org.id)")
        return PCOClient(
            configuration: PCOClientConfiguration(baseURL: baseURL, orgID: org.id, backoff: backoff),
            httpClient: HTTPClient.shared, credentials: credentials,
            limiter: limiter,
            counters: counters, random: SplitMix64(seed: 11),
            observer: observer,
            logger: TestServices.logger
        )
    }

    /// `POST /__sim/faults` with a JSON object.
    func setFaults(_ json: String) async throws {
        var request = HTTPClientRequest(url: baseURL + "/__sim/faults")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            throw FixtureError(detail: "POST /__sim/faults \(json) → \(response.status.code) \(String(buffer: body))")
        }
    }

    /// The simulator's request log (API and OAuth requests).
    func requestLog() async throws -> [RequestLogEntry] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/__sim/requests"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 256 << 20)
        return try JSONDecoder().decode([RequestLogEntry].self, from: Data(buffer: body))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var detail: String
    var description: String { detail }
}

/// Collects the client's per-attempt events.
final class RequestEventRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [PCORequestEvent] = []

    func record(_ event: PCORequestEvent) { lock.withLock { storage.append(event) } }
    var events: [PCORequestEvent] { lock.withLock { storage } }
}

/// A migrated throwaway database with an `organizations` row and a running Postgres client for tokens.
enum TokenDatabase {
    static let cipher = try! TokenCipher(base64Key: Data((0..<32).map { UInt8($0 * 7 & 0xFF) }).base64EncodedString())

    static func with<T: Sendable>(orgID: String, _ body: @Sendable (PostgresTokenStore) async throws -> T) async throws -> T {
        try await TemporaryDatabase.with(prefix: "tok") { database in
            _ = try await MigrationRunner(migrations: try MigrationDirectory.load(from: TestServices.migrationsDirectory), logger: TestServices.logger)
                .run(url: database.url)
            let connection = try await database.connect()
            try await connection.query(
                "INSERT INTO organizations (id, name, adapter, api_base_url) VALUES (\(orgID), 'Test church', 'pco', 'http://127.0.0.1')",
                logger: TestServices.logger
            )
            try await connection.close()
            let client = PostgresClient(configuration: database.url.clientConfiguration, backgroundLogger: TestServices.logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(PostgresTokenStore(client: client, cipher: cipher, logger: TestServices.logger))
            }
        }
    }
}
