import ClusterProtocol
import NIOCore
import NIOEmbedded
import SyncTransport
import Testing

@Suite("Frame codec")
struct FrameCodecTests {
    @Test("every message round-trips through encoder and decoder", arguments: SampleMessages.all)
    func roundTrip(_ message: ClusterMessage) throws {
        let bytes = try frame(message)
        #expect(try decodeAll(bytes) == [message])
    }

    @Test("the frame header is big-endian length (type + payload) then the type byte")
    func headerLayout() throws {
        let bytes = try frame(.ping(0x0102_0304_0506_0708))
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 9, 32, 1, 2, 3, 4, 5, 6, 7, 8])
        let request = try frame(.entitySyncRequest(EntitySyncRequest(correlationID: 1, idempotencyKey: "k", runID: "r", orgID: "o",
                                                                      entity: "é", leaderTerm: -1)))
        // u64 + 4 strings (4-byte length each; "é" is 2 bytes of UTF-8) + i64, after the type byte.
        let expected: Int = 1 + 8 + 3 * (4 + 1) + (4 + 2) + 8
        #expect(request.getInteger(at: 0, as: UInt32.self) == UInt32(expected))
    }

    @Test("bytes delivered one at a time and all at once give the same messages (pure decoder)")
    func chunkingDoesNotMatter() throws {
        var stream = ByteBuffer()
        for message in SampleMessages.all { stream.writeImmutableBuffer(try frame(message)) }

        var whole = ClusterFrameDecoder()
        whole.feed(stream)
        var wholeMessages: [ClusterMessage] = []
        while let message = try whole.next() { wholeMessages.append(message) }
        try whole.finish()

        var single = ClusterFrameDecoder()
        var singleMessages: [ClusterMessage] = []
        for byte in stream.readableBytesView {
            single.feed(ByteBuffer(bytes: [byte]))
            while let message = try single.next() { singleMessages.append(message) }
        }
        try single.finish()

        #expect(wholeMessages == SampleMessages.all)
        #expect(singleMessages == SampleMessages.all)
        #expect(single.bufferedByteCount == 0)
    }

    @Test("bytes delivered one at a time and all at once give the same messages (NIO handler in an EmbeddedChannel)")
    func channelHandlerChunking() throws {
        var stream = ByteBuffer()
        for message in SampleMessages.all { stream.writeImmutableBuffer(try frame(message)) }

        func decode(_ chunks: [ByteBuffer]) throws -> [ClusterMessage] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(ClusterFrameDecoderHandler()))
            for chunk in chunks { try channel.writeInbound(chunk) }
            var messages: [ClusterMessage] = []
            while let message = try channel.readInbound(as: ClusterMessage.self) { messages.append(message) }
            #expect(try channel.finish().isClean)
            return messages
        }

        #expect(try decode([stream]) == SampleMessages.all)
        #expect(try decode(stream.readableBytesView.map { ByteBuffer(bytes: [$0]) }) == SampleMessages.all)
    }

    @Test("an oversized length is rejected from the header alone, before the body arrives")
    func oversizedFromHeader() throws {
        var decoder = ClusterFrameDecoder(maximumFrameSize: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1025))
        decoder.feed(header)
        #expect(throws: ClusterProtocolError.self) { try decoder.next() }
        do {
            _ = try decoder.next()
        } catch {
            #expect(error.code == .oversizedFrame)
        }

        // The default maximum is 4 MiB: a 4 MiB + 1 header is refused with nothing else buffered.
        var defaultDecoder = ClusterFrameDecoder()
        var big = ByteBuffer()
        big.writeInteger(UInt32(4 << 20) + 1)
        big.writeInteger(ClusterMessageType.ping.rawValue)
        defaultDecoder.feed(big)
        #expect(try errorCode { try defaultDecoder.next() } == .oversizedFrame)

        // A frame of exactly the maximum is fine.
        var exact = ClusterFrameDecoder(maximumFrameSize: 9)
        exact.feed(try frame(.ping(1)))
        #expect(try exact.next() == .ping(1))
    }

    @Test("the NIO handler fails an oversized frame as soon as the header is in")
    func handlerOversized() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ClusterFrameDecoderHandler(maximumFrameSize: 64)))
        var header = ByteBuffer()
        header.writeInteger(UInt32(65))
        #expect(throws: ClusterProtocolError(code: .oversizedFrame, detail: "frame length 65 exceeds the maximum of 64")) {
            try channel.writeInbound(header)
        }
        _ = try? channel.finish()
    }

    @Test("the encoder refuses a frame larger than the maximum and leaves the buffer untouched")
    func encoderOversized() throws {
        let encoder = ClusterFrameEncoder(maximumFrameSize: 32)
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        let huge = ClusterMessage.entitySyncFailed(correlationID: 1, refusal: .unavailable, detail: String(repeating: "x", count: 100))
        #expect(throws: ClusterProtocolError.self) { try encoder.encode(huge, into: &buffer) }
        #expect(Array(buffer.readableBytesView) == [1, 2, 3])
        // Fields of the wrong size cannot be put on the wire either.
        var badHello = SampleMessages.hello
        badHello.nonce = [1, 2, 3]
        #expect(try errorCode { _ = try ClusterFrameEncoder().encode(.hello(badHello)) } == .unencodableMessage)
    }

    @Test("a frame cut off at end of stream is an error, also when only part of the length came")
    func truncatedAtEndOfStream() throws {
        let whole = try frame(.entitySyncProgress(correlationID: 1, pages: 2, rows: 3))
        for cut in 1..<whole.readableBytes {
            var decoder = ClusterFrameDecoder()
            decoder.feed(whole.getSlice(at: 0, length: cut)!)
            #expect(try decoder.next() == nil)
            #expect(try errorCode { try decoder.finish() } == .truncatedFrame, "cut at \(cut)")
        }
        // The NIO handler reports it when the channel closes.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ClusterFrameDecoderHandler()))
        try channel.writeInbound(whole.getSlice(at: 0, length: 7)!)
        #expect(throws: ClusterProtocolError.self) { _ = try channel.finish() }
    }

    @Test("an unknown message type is an error that names the type byte")
    func unknownType() throws {
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(1 + 8))
        bytes.writeInteger(UInt8(99))
        bytes.writeInteger(UInt64(5))
        var decoder = ClusterFrameDecoder()
        decoder.feed(bytes)
        do {
            _ = try decoder.next()
            Issue.record("decoded a frame of unknown type 99")
        } catch {
            #expect(error.code == .unknownMessageType)
            #expect(error.messageType == 99)
        }
        // The bad frame was consumed whole: what follows it still decodes.
        decoder.feed(try frame(.pong(1)))
        #expect(try decoder.next() == .pong(1))
    }

    @Test("malformed payloads are errors, never crashes")
    func malformedPayloads() throws {
        // A string whose length runs past the end of the frame.
        var lying = ByteBuffer()
        lying.writeInteger(ClusterMessageType.helloReject.rawValue)
        lying.writeInteger(UInt8(1))
        lying.writeInteger(UInt32(1_000))
        lying.writeString("short")
        #expect(try decodePayload(lying) == .malformedPayload)

        // A string length near UInt32.max.
        var huge = ByteBuffer()
        huge.writeInteger(ClusterMessageType.entitySyncFailed.rawValue)
        huge.writeInteger(UInt64(1))
        huge.writeInteger(EntitySyncRefusal.notOwner.rawValue)
        huge.writeInteger(UInt32.max)
        #expect(try decodePayload(huge) == .malformedPayload)

        // Invalid UTF-8.
        var invalid = ByteBuffer()
        invalid.writeInteger(ClusterMessageType.helloReject.rawValue)
        invalid.writeInteger(UInt8(1))
        invalid.writeInteger(UInt32(2))
        invalid.writeBytes([0xC3, 0x28])
        #expect(try decodePayload(invalid) == .malformedPayload)

        // An unknown refusal and an unknown outcome tag.
        var refusal = ByteBuffer()
        refusal.writeInteger(ClusterMessageType.entitySyncFailed.rawValue)
        refusal.writeInteger(UInt64(1))
        refusal.writeInteger(UInt8(77))
        refusal.writeWireStringForTest("x")
        #expect(try decodePayload(refusal) == .malformedPayload)
        var outcome = ByteBuffer()
        outcome.writeInteger(ClusterMessageType.entitySyncCompleted.rawValue)
        outcome.writeInteger(UInt64(1))
        outcome.writeInteger(UInt8(9))
        #expect(try decodePayload(outcome) == .malformedPayload)

        // Too short for its fixed fields, and trailing bytes after them.
        var short = ByteBuffer()
        short.writeInteger(ClusterMessageType.ping.rawValue)
        short.writeInteger(UInt32(1))
        #expect(try decodePayload(short) == .malformedPayload)
        var trailing = ByteBuffer()
        trailing.writeInteger(ClusterMessageType.ping.rawValue)
        trailing.writeInteger(UInt64(1))
        trailing.writeInteger(UInt8(0))
        #expect(try decodePayload(trailing) == .malformedPayload)

        // A hello cut inside its nonce.
        var hello = try frame(.hello(SampleMessages.hello))
        hello.moveReaderIndex(forwardBy: 4)
        #expect(try decodePayload(hello.getSlice(at: hello.readerIndex, length: 30)!) == .malformedPayload)

        // A zero length has no room for the type byte.
        var empty = ClusterFrameDecoder()
        empty.feed(ByteBuffer(bytes: [0, 0, 0, 0]))
        #expect(try errorCode { try empty.next() } == .emptyFrame)
    }

    @Test("garbage is rejected from its first four bytes")
    func garbage() throws {
        var decoder = ClusterFrameDecoder()
        decoder.feed(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: example\r\n\r\n"))
        #expect(try errorCode { try decoder.next() } == .oversizedFrame)
    }

    /// Frames `typeAndPayload` (type byte first) and returns the decoder's error code.
    private func decodePayload(_ typeAndPayload: ByteBuffer) throws -> ClusterProtocolError.Code? {
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(typeAndPayload.readableBytes))
        bytes.writeImmutableBuffer(typeAndPayload)
        var decoder = ClusterFrameDecoder()
        decoder.feed(bytes)
        return try errorCode { _ = try decoder.next() }
    }
}

/// The code of the `ClusterProtocolError` `body` throws; nil if it throws nothing.
func errorCode<T>(_ body: () throws -> T) throws -> ClusterProtocolError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as ClusterProtocolError {
        return error.code
    }
}

extension ByteBuffer {
    mutating func writeWireStringForTest(_ string: String) {
        writeInteger(UInt32(string.utf8.count))
        writeString(string)
    }
}
