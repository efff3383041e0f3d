import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PCOSimulator

/// Realistic People page bodies, fetched once from an in-process PCO simulator so that the store
/// benchmark times decode → transform → store from bytes, with no HTTP in the measurement.
public struct SimulatorPeoplePages: Sendable {
    public var pages: Int
    public var perPage: Int
    /// The `include` parameter: the included resources become rows of their own tables.
    public var include: String
    public var seed: UInt64

    public init(pages: Int, perPage: Int = 100, include: String = "emails,phone_numbers,addresses", seed: UInt64 = 1) {
        self.pages = pages
        self.perPage = perPage
        self.include = include
        self.seed = seed
    }

    /// Starts a simulator holding exactly `pages × perPage` people, reads every page, and stops it.
    public func fetch(logger: Logger) async throws -> [Data] {
        var configuration = SimulatorConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.orgs = 1
        configuration.peoplePerOrg = pages * perPage
        configuration.seed = seed
        configuration.faults.rateLimit.enabled = false
        var quiet = logger
        quiet.logLevel = .warning
        let simulator = PCOSimulator(configuration: configuration, logger: quiet)
        let baseURL = try await simulator.start()
        do {
            let bodies = try await read(baseURL: baseURL, org: simulator.organizations[0])
            await simulator.shutdown()
            return bodies
        } catch {
            await simulator.shutdown()
            throw error
        }
    }

    private func read(baseURL: String, org: SimulatedOrg) async throws -> [Data] {
        let credentials = Data("\(org.patAppID):\(org.patSecret)".utf8).base64EncodedString()
        var bodies: [Data] = []
        for page in 0..<pages {
            var request = HTTPClientRequest(
                url: "\(baseURL)/people/v2/people?per_page=\(perPage)&offset=\(page * perPage)&include=\(include)"
            )
            request.headers.add(name: "Authorization", value: "Basic \(credentials)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else {
                throw PeerUnavailable(peer: "pco-sim", reason: "page \(page) answered \(response.status): \(String(buffer: body).prefix(200))")
            }
            bodies.append(Data(body.readableBytesView))
        }
        return bodies
    }
}
