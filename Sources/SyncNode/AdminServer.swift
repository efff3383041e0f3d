import Foundation
import Hummingbird
import Logging
import Prometheus
import SyncCore
import SyncPostgres

/// The node's admin HTTP API (Hummingbird): health, starting syncs, run status.
///
/// - `GET /healthz` -> `ok`
/// - `POST /v1/orgs/{org}/syncs` with `{"strategy": "full"|"delta"|"reconcile"}` (and an optional
///   `Idempotency-Key` header) -> 201 `{"run_id": ..., "created": true}`, or 200 with the run already
///   active for that org (`"created": false`), 404 for an unknown org, 400 for a bad strategy.
/// - `GET /v1/runs/{id}` -> ``RunStatus``; `GET /v1/runs` -> recent runs.
/// - `GET /v1/cluster` -> ``ClusterStatus`` (members, shard owners and epochs, active runs).
/// - `GET /v1/workflows` -> the entity workflows running on this node, each with its phase and how
///   long it has been in it (``WorkflowActivity/Entry``), longest first.
/// - `GET /metrics` -> the Prometheus text format, when a registry is given.
public enum AdminServer {
    struct SyncRequest: Decodable { var strategy: String? }

    struct SyncAccepted: ResponseEncodable {
        var runID: UUID
        var created: Bool
        var state: RunState
        enum CodingKeys: String, CodingKey { case runID = "run_id", created, state }
    }

    struct ErrorBody: ResponseEncodable {
        var error: String
        var detail: String
    }

    public static func router(engine: SyncEngine, metrics: PrometheusCollectorRegistry? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.get("/v1/cluster") { _, context -> Response in
            try json(.ok, try await engine.clusterStatus(), context)
        }
        router.get("/v1/workflows") { _, context -> Response in
            try json(.ok, engine.activity.snapshot(), context)
        }
        if let metrics {
            router.get("/metrics") { _, _ -> Response in
                var bytes: [UInt8] = []
                metrics.emit(into: &bytes)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
        router.post("/v1/orgs/:org/syncs") { request, context -> Response in
            let org = try context.parameters.require("org")
            let body = try? await request.decode(as: SyncRequest.self, context: context)
            let strategyName = body?.strategy ?? "full"
            guard let strategy = SyncStrategy(rawValue: strategyName) else {
                return try json(.badRequest, ErrorBody(error: "bad_strategy",
                    detail: "unknown strategy '\(strategyName)'; use one of \(SyncStrategy.allCases.map(\.rawValue).joined(separator: ", "))"), context)
            }
            do {
                switch try await engine.requestSync(orgID: org, strategy: strategy, requestKey: request.headers[.init("Idempotency-Key")!]) {
                case .created(let run):
                    return try json(.created, SyncAccepted(runID: run.id, created: true, state: run.state), context)
                case .alreadyActive(let run):
                    return try json(.ok, SyncAccepted(runID: run.id, created: false, state: run.state), context)
                }
            } catch let error as JournalError where error.code == .invalidState {
                return try json(.notFound, ErrorBody(error: "unknown_org", detail: error.detail), context)
            }
        }
        router.get("/v1/runs/:id") { _, context -> Response in
            guard let id = UUID(uuidString: try context.parameters.require("id")) else {
                return try json(.badRequest, ErrorBody(error: "bad_run_id", detail: "run ids are UUIDs"), context)
            }
            guard let status = try await engine.status(of: id) else {
                return try json(.notFound, ErrorBody(error: "unknown_run", detail: "no run \(id)"), context)
            }
            return try json(.ok, status, context)
        }
        router.get("/v1/runs") { _, context -> Response in
            try json(.ok, try await engine.recentRuns(), context)
        }
        return router
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, _ context: BasicRequestContext) throws -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(try SerializedJSONEncoder.encode(value, sortedKeys: true, iso8601Dates: true))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
