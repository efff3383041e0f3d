import ClusterProtocol
import NIOCore
import Testing

@Suite("Frame decoder fuzzing")
struct FrameDecoderFuzzTests {
    static let inputCount = 100_000

    /// Valid frames to mutate.
    static let corpus: [[UInt8]] = SampleMessages.all.map { message in
        Array(try! ClusterFrameEncoder().encode(message).readableBytesView)
    }

    @Test("100,000 random and mutated inputs: every outcome is a message or an error, never a crash or a hang")
    func fuzz() throws {
        var generator = SeededGenerator(seed: 0x5EED_CAFE)
        var messages = 0
        var errors = 0
        var incomplete = 0
        for index in 0..<Self.inputCount {
            let input = Self.mutatedInput(&generator)
            let maximum = Bool.random(using: &generator) ? 256 : ClusterFrame.defaultMaximumSize
            let outcome = try Self.decode(input, maximumFrameSize: maximum, chunked: false)
            messages += outcome.messages.count
            if outcome.error != nil { errors += 1 } else if outcome.endedIncomplete { incomplete += 1 }

            // Whatever decoded must re-encode to a frame that decodes to the same message.
            // (Plain comparisons in the loop: an #expect per input would dominate the run time.)
            for message in outcome.messages {
                let again = try ClusterFrameDecoder.decodeOnly(ClusterFrameEncoder(maximumFrameSize: .max).encode(message))
                if again != message { Issue.record("input \(index) \(input): \(message) re-decoded as \(String(describing: again))") }
            }
            // Chunking must not change the outcome (checked on a sample to keep the test fast).
            if index % 16 == 0 {
                let chunked = try Self.decode(input, maximumFrameSize: maximum, chunked: true, using: &generator)
                if chunked.messages != outcome.messages || chunked.error?.code != outcome.error?.code {
                    Issue.record("input \(index) \(input): chunked \(chunked) differs from whole \(outcome)")
                }
            }
        }
        // The mutations must exercise both paths, or the test proves little.
        #expect(messages > Self.inputCount / 10)
        #expect(errors > Self.inputCount / 4)
        #expect(incomplete > 0)
    }

    struct Outcome {
        var messages: [ClusterMessage] = []
        var error: ClusterProtocolError?
        var endedIncomplete = false
    }

    /// Decodes until the input runs out or the first error; `finish()` reports a cut-off frame.
    static func decode(_ input: [UInt8], maximumFrameSize: Int, chunked: Bool) throws -> Outcome {
        var generator = SeededGenerator(seed: 1)
        return try decode(input, maximumFrameSize: maximumFrameSize, chunked: chunked, using: &generator)
    }

    static func decode(_ input: [UInt8], maximumFrameSize: Int, chunked: Bool, using generator: inout SeededGenerator) throws -> Outcome {
        var decoder = ClusterFrameDecoder(maximumFrameSize: maximumFrameSize)
        var outcome = Outcome()
        var offset = 0
        repeat {
            let size = chunked ? min(Int.random(in: 1...7, using: &generator), input.count - offset) : input.count
            decoder.feed(ByteBuffer(bytes: input[offset..<offset + size]))
            offset += size
            do {
                // Each successful step consumes a whole frame (≥ 5 bytes), so this loop is bounded.
                var steps = 0
                while let message = try decoder.next() {
                    outcome.messages.append(message)
                    steps += 1
                    if steps > input.count / 5 + 1 { Issue.record("more messages than whole frames in \(input)") }
                }
            } catch {
                outcome.error = error
                return outcome
            }
        } while offset < input.count
        do {
            try decoder.finish()
        } catch {
            if error.code != .truncatedFrame { Issue.record("finish() threw \(error)") }
            outcome.endedIncomplete = true
        }
        return outcome
    }

    static func mutatedInput(_ generator: inout SeededGenerator) -> [UInt8] {
        func pick() -> [UInt8] { corpus[Int.random(in: 0..<corpus.count, using: &generator)] }
        switch Int.random(in: 0..<8, using: &generator) {
        case 0:
            // Pure noise.
            return (0..<Int.random(in: 0...48, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case 1:
            // Bit flips in a valid frame.
            var bytes = pick()
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            }
            return bytes
        case 2:
            // A truncated valid frame.
            let bytes = pick()
            return Array(bytes[0..<Int.random(in: 0..<bytes.count, using: &generator)])
        case 3:
            // The head of one frame spliced to the tail of another.
            let first = pick()
            let second = pick()
            return Array(first[0..<Int.random(in: 0...first.count, using: &generator)])
                + Array(second[Int.random(in: 0...second.count, using: &generator)...])
        case 4:
            // A valid body under a lying length.
            var bytes = pick()
            let length = UInt32.random(in: 0...UInt32(bytes.count + 8), using: &generator)
            bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: length.bigEndian, Array.init))
            return bytes
        case 5:
            // Bytes inserted into or removed from the payload, with the length fixed up to match.
            var bytes = pick()
            let index = Int.random(in: 5...bytes.count, using: &generator)
            if Bool.random(using: &generator) || index == bytes.count {
                bytes.insert(contentsOf: (0..<Int.random(in: 1...4, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) },
                             at: index)
            } else {
                bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...4, using: &generator)))
            }
            let length = UInt32(bytes.count - 4)
            bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: length.bigEndian, Array.init))
            return bytes
        case 6:
            // A valid frame with its type byte changed.
            var bytes = pick()
            bytes[4] = UInt8.random(in: 0...255, using: &generator)
            return bytes
        default:
            // Several valid frames, then one byte overwritten somewhere.
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator) { bytes += pick() }
            if Bool.random(using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            return bytes
        }
    }
}

extension ClusterFrameDecoder {
    /// Decodes exactly one frame that must make up all of `bytes`.
    static func decodeOnly(_ bytes: ByteBuffer) throws -> ClusterMessage? {
        var decoder = ClusterFrameDecoder(maximumFrameSize: .max)
        decoder.feed(bytes)
        let message = try decoder.next()
        try decoder.finish()
        return message
    }
}
