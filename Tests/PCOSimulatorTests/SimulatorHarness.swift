import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PCOSimulator

/// A simulator started in-process on a free loopback port, and an HTTP client to talk to it.
/// Every test starts its own, so Swift Testing can run them in parallel.
struct SimulatorHarness {
    let simulator: PCOSimulator
    let baseURL: String

    /// Redirects are not followed: the OAuth authorize step answers 302 and the test reads `Location`.
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )

    struct Reply {
        var status: Int
        /// Header names lower-cased.
        var headers: [String: String]
        var body: [UInt8]

        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    static func start(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws -> SimulatorHarness {
        var configuration = SimulatorConfiguration()
        configuration.peoplePerOrg = 150
        configure(&configuration)
        let simulator = PCOSimulator(configuration: configuration)
        let baseURL = try await simulator.start()
        return SimulatorHarness(simulator: simulator, baseURL: baseURL)
    }

    func stop() async {
        await simulator.shutdown()
    }

    /// `Basic ...` for an org's Personal Access Token.
    func basicAuth(org index: Int = 0) -> String {
        let org = simulator.organizations[index]
        return "Basic " + Data("\(org.patAppID):\(org.patSecret)".utf8).base64EncodedString()
    }

    func request(
        _ method: HTTPMethodName = .GET, _ pathAndQuery: String, authorization: String? = nil,
        headers extra: [String: String] = [:], body: [UInt8]? = nil, contentType: String = "application/json"
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: pathAndQuery.hasPrefix("http") ? pathAndQuery : baseURL + pathAndQuery)
        request.method = method.nio
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for (k, v) in extra { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await Self.client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 256 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: headers, body: Array(buffer.readableBytesView))
    }

    /// A GET with the first org's PAT.
    func get(_ pathAndQuery: String, org: Int = 0, headers: [String: String] = [:]) async throws -> Reply {
        try await request(.GET, pathAndQuery, authorization: basicAuth(org: org), headers: headers)
    }

    func control(_ method: HTTPMethodName, _ path: String, json: Any? = nil) async throws -> Reply {
        let body = try json.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
        return try await request(method, path, body: body)
    }

    /// Applies mutations through the control API and returns the reported changes.
    @discardableResult
    func mutate(org: String = "1", _ ops: [[String: Any]]) async throws -> [[String: Any]] {
        let reply = try await control(.POST, "/__sim/mutate", json: ["org": org, "ops": ops])
        guard reply.status == 200 else {
            throw HarnessError(detail: "mutate failed \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
        return reply.object["changes"] as? [[String: Any]] ?? []
    }
}

enum HTTPMethodName {
    case GET, POST, PATCH, DELETE

    var nio: HTTPMethod {
        switch self {
        case .GET: return .GET
        case .POST: return .POST
        case .PATCH: return .PATCH
        case .DELETE: return .DELETE
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var detail: String
    var description: String { detail }
}

/// The ids of a collection document's `data`.
func ids(_ document: [String: Any]) -> [String] {
    (document["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
}

func meta(_ document: [String: Any]) -> [String: Any] { document["meta"] as? [String: Any] ?? [:] }
func links(_ document: [String: Any]) -> [String: Any] { document["links"] as? [String: Any] ?? [:] }
