import ClusterProtocol

/// One or more values of every message, with the edge cases of each field: empty and non-ASCII
/// strings, the extremes of every integer, every enum case.
enum SampleMessages {
    static let handshake = ClusterHandshake(clusterID: "cluster-a", nodeID: "node-1", secret: Array("correct horse battery staple".utf8))

    static let hello = handshake.makeHello(nonce: Array(0..<16), timestampMilliseconds: 1_700_000_000_000)

    static let all: [ClusterMessage] = [
        .hello(hello),
        .hello(Hello(magic: Array("SYNX".utf8), protocolVersion: .max, clusterID: "", nodeID: "nœud-é-🚀", nonce: Array(repeating: 0xFF, count: 16),
                     timestampMilliseconds: .min, proof: Array(repeating: 7, count: 32))),
        .helloAccept(HelloAccept(nodeID: "node-2", proof: Array(repeating: 0xAB, count: 32))),
        .helloReject(HelloReject(code: .badProof, reason: "proof does not match")),
        .helloReject(HelloReject(code: HelloRejectCode(rawValue: 200), reason: "")),
        .entitySyncRequest(EntitySyncRequest(correlationID: 42, idempotencyKey: "run-1/Person", runID: "run-1", orgID: "org-9",
                                             entity: "Person", leaderTerm: 7)),
        .entitySyncRequest(EntitySyncRequest(correlationID: .max, idempotencyKey: "", runID: "", orgID: "église-🙏", entity: "",
                                             leaderTerm: .min)),
        .entitySyncAccepted(correlationID: 0),
        .entitySyncProgress(correlationID: 3, pages: 12, rows: 1_200),
        .entitySyncProgress(correlationID: .max, pages: .max, rows: .min),
        .entitySyncCompleted(correlationID: 4, outcome: .completed(pages: 30, rows: 2_999)),
        .entitySyncCompleted(correlationID: 5, outcome: .failed(reason: "PCO returned 403 for /people/v2/people")),
        .entitySyncCompleted(correlationID: 6, outcome: .failed(reason: "")),
        .cancel(correlationID: 9),
        .ping(0),
        .ping(.max),
        .pong(77),
    ] + EntitySyncRefusal.allCases.map { .entitySyncFailed(correlationID: UInt64($0.rawValue), refusal: $0, detail: "refused: \($0)") }
}
