import NIOCore

// The payload layout of each message. Integers are big-endian, strings are u32-length-prefixed
// UTF-8, enums are one byte. Decoding is total: every input either yields a message or throws a
// `ClusterProtocolError`.
extension ClusterMessage {
    /// Appends this message's payload (without length or type byte).
    func writePayload(into buffer: inout ByteBuffer) throws(ClusterProtocolError) {
        switch self {
        case .hello(let hello):
            try Self.requireSize(hello.magic, ClusterHandshake.magic.count, "hello.magic", .hello)
            try Self.requireSize(hello.nonce, ClusterHandshake.nonceSize, "hello.nonce", .hello)
            hello.writeSignedFields(into: &buffer)
            try Self.requireSize(hello.proof, ClusterHandshake.proofSize, "hello.proof", .hello)
            buffer.writeBytes(hello.proof)
        case .helloAccept(let accept):
            buffer.writeWireString(accept.nodeID)
            try Self.requireSize(accept.proof, ClusterHandshake.proofSize, "helloAccept.proof", .helloAccept)
            buffer.writeBytes(accept.proof)
        case .helloReject(let reject):
            buffer.writeInteger(reject.code.rawValue)
            buffer.writeWireString(reject.reason)
        case .entitySyncRequest(let request):
            buffer.writeInteger(request.correlationID)
            buffer.writeWireString(request.idempotencyKey)
            buffer.writeWireString(request.runID)
            buffer.writeWireString(request.orgID)
            buffer.writeWireString(request.entity)
            buffer.writeInteger(request.leaderTerm)
        case .entitySyncAccepted(let correlationID), .cancel(let correlationID), .ping(let correlationID),
             .pong(let correlationID):
            buffer.writeInteger(correlationID)
        case .entitySyncProgress(let correlationID, let pages, let rows):
            buffer.writeInteger(correlationID)
            buffer.writeInteger(pages)
            buffer.writeInteger(rows)
        case .entitySyncCompleted(let correlationID, let outcome):
            buffer.writeInteger(correlationID)
            switch outcome {
            case .completed(let pages, let rows):
                buffer.writeInteger(OutcomeTag.completed.rawValue)
                buffer.writeInteger(pages)
                buffer.writeInteger(rows)
            case .failed(let reason):
                buffer.writeInteger(OutcomeTag.failed.rawValue)
                buffer.writeWireString(reason)
            }
        case .entitySyncFailed(let correlationID, let refusal, let detail):
            buffer.writeInteger(correlationID)
            buffer.writeInteger(refusal.rawValue)
            buffer.writeWireString(detail)
        }
    }

    /// Decodes the payload of a frame whose type byte was `type`.
    static func decode(type: ClusterMessageType, payload: ByteBuffer) throws(ClusterProtocolError) -> ClusterMessage {
        var reader = WirePayloadReader(payload: payload, type: type)
        let message: ClusterMessage
        switch type {
        case .hello:
            message = .hello(Hello(
                magic: try reader.bytes(ClusterHandshake.magic.count, "hello.magic"),
                protocolVersion: try reader.uint16("hello.protocolVersion"),
                clusterID: try reader.string("hello.clusterID"),
                nodeID: try reader.string("hello.nodeID"),
                nonce: try reader.bytes(ClusterHandshake.nonceSize, "hello.nonce"),
                timestampMilliseconds: try reader.int64("hello.timestamp"),
                proof: try reader.bytes(ClusterHandshake.proofSize, "hello.proof")
            ))
        case .helloAccept:
            message = .helloAccept(HelloAccept(
                nodeID: try reader.string("helloAccept.nodeID"),
                proof: try reader.bytes(ClusterHandshake.proofSize, "helloAccept.proof")
            ))
        case .helloReject:
            message = .helloReject(HelloReject(
                code: HelloRejectCode(rawValue: try reader.uint8("helloReject.code")),
                reason: try reader.string("helloReject.reason")
            ))
        case .entitySyncRequest:
            message = .entitySyncRequest(EntitySyncRequest(
                correlationID: try reader.uint64("entitySyncRequest.correlationID"),
                idempotencyKey: try reader.string("entitySyncRequest.idempotencyKey"),
                runID: try reader.string("entitySyncRequest.runID"),
                orgID: try reader.string("entitySyncRequest.orgID"),
                entity: try reader.string("entitySyncRequest.entity"),
                leaderTerm: try reader.int64("entitySyncRequest.leaderTerm")
            ))
        case .entitySyncAccepted:
            message = .entitySyncAccepted(correlationID: try reader.uint64("entitySyncAccepted.correlationID"))
        case .entitySyncProgress:
            message = .entitySyncProgress(
                correlationID: try reader.uint64("entitySyncProgress.correlationID"),
                pages: try reader.int64("entitySyncProgress.pages"),
                rows: try reader.int64("entitySyncProgress.rows")
            )
        case .entitySyncCompleted:
            let correlationID = try reader.uint64("entitySyncCompleted.correlationID")
            let tag = try reader.uint8("entitySyncCompleted.outcome")
            let outcome: EntitySyncOutcome
            switch OutcomeTag(rawValue: tag) {
            case .completed:
                outcome = .completed(pages: try reader.int64("entitySyncCompleted.pages"),
                                     rows: try reader.int64("entitySyncCompleted.rows"))
            case .failed:
                outcome = .failed(reason: try reader.string("entitySyncCompleted.reason"))
            case nil:
                throw reader.malformed("entitySyncCompleted.outcome: unknown outcome \(tag)")
            }
            message = .entitySyncCompleted(correlationID: correlationID, outcome: outcome)
        case .entitySyncFailed:
            let correlationID = try reader.uint64("entitySyncFailed.correlationID")
            let raw = try reader.uint8("entitySyncFailed.refusal")
            guard let refusal = EntitySyncRefusal(rawValue: raw) else {
                throw reader.malformed("entitySyncFailed.refusal: unknown refusal \(raw)")
            }
            message = .entitySyncFailed(correlationID: correlationID, refusal: refusal,
                                        detail: try reader.string("entitySyncFailed.detail"))
        case .cancel:
            message = .cancel(correlationID: try reader.uint64("cancel.correlationID"))
        case .ping:
            message = .ping(try reader.uint64("ping.value"))
        case .pong:
            message = .pong(try reader.uint64("pong.value"))
        }
        try reader.finish()
        return message
    }

    private enum OutcomeTag: UInt8 {
        case completed = 1
        case failed = 2
    }

    static func requireSize(_ bytes: [UInt8], _ size: Int, _ field: String, _ type: ClusterMessageType) throws(ClusterProtocolError) {
        guard bytes.count == size else {
            throw ClusterProtocolError(code: .unencodableMessage, messageType: type.rawValue,
                                       detail: "\(field) has \(bytes.count) bytes, the wire format needs \(size)")
        }
    }
}

extension Hello {
    /// Every field before the proof, in wire form: exactly the bytes the proof signs. (Decoding
    /// and re-encoding give the same bytes: strings are validated UTF-8, which round-trips exactly.)
    func writeSignedFields(into buffer: inout ByteBuffer) {
        buffer.writeBytes(magic)
        buffer.writeInteger(protocolVersion)
        buffer.writeWireString(clusterID)
        buffer.writeWireString(nodeID)
        buffer.writeBytes(nonce)
        buffer.writeInteger(timestampMilliseconds)
    }
}
