import Foundation

/// Encodes an `Encodable` value as compact JSON by writing it straight into one byte buffer, as the
/// value's `encode(to:)` walks it.
///
/// Why not `JSONEncoder`: every journal step encodes its record (a page's holds the 100 ids of the
/// page), and swift-foundation's encoder, which builds a tree of boxed values before writing any of
/// it, took about 120 µs a record here: a third of the client's CPU per step at 16 concurrent
/// workflows (`syncengine bench journal`).
///
/// The output decodes with `JSONDecoder` (default strategies) to the same value as `JSONEncoder`'s:
/// keys in the order the value encodes them, nil values of `encodeIfPresent` left out, a value that
/// encodes nothing written as `{}`. What it does not do, it refuses with ``Unsupported`` rather than
/// guess, and ``SerializedJSONEncoder`` then uses `JSONEncoder`:
/// - types `JSONEncoder` writes in its own way (`Data`, `URL`, `Decimal`, and `Date`, which its
///   default strategy writes as `encode(to:)` would, but refused to stay obviously equal);
/// - `superEncoder`;
/// - writing to a container after a sibling opened later was written to (the streaming order is
///   the encoding order; synthesized conformances always nest properly).
public enum StreamingJSONEncoder {
    /// The value used an encoding feature this encoder does not stream.
    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String
    }

    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let writer = Writer()
        try writer.writeValue(value, codingPath: [])
        writer.close(downTo: 0)
        if let refusal = writer.refusal { throw Unsupported(description: refusal) }
        return writer.bytes
    }

    /// The buffer and the stack of containers that are still open, innermost last.
    fileprivate final class Writer {
        var bytes: [UInt8] = []
        /// Open containers: whether each is an object, and how many members it has so far.
        var open: [(isObject: Bool, count: Int)] = []
        /// Bumped whenever a container closes, so a container can tell it was closed.
        var generations: [Int] = []
        var nextGeneration = 0
        /// Why the output cannot be trusted, noted where the protocol gives no way to throw.
        var refusal: String?

        init() { bytes.reserveCapacity(512) }

        func refuse(_ reason: String) {
            if refusal == nil { refusal = reason }
        }

        func writeValue<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
            // Metatype comparisons rather than `as?` casts: the elements of arrays come through here.
            if Value.self == String.self {
                writeString(value as! String)
            } else if Value.self == Int.self {
                writeASCII(String(value as! Int))
            } else if Value.self == Bool.self {
                writeASCII(value as! Bool ? "true" : "false")
            } else if Value.self == Data.self || Value.self == URL.self || Value.self == Decimal.self || Value.self == Date.self {
                throw Unsupported(description: "\(Value.self) at \(Self.describe(codingPath)) is written by JSONEncoder in its own way")
            } else {
                let depth = open.count
                let start = bytes.count
                try value.encode(to: ValueEncoder(writer: self, depth: depth, codingPath: codingPath))
                close(downTo: depth)
                if bytes.count == start { bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")]) }
            }
        }

        /// Opens a container at the current position (a value slot just prepared by its parent).
        func openContainer(isObject: Bool) -> (level: Int, generation: Int) {
            bytes.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
            open.append((isObject, 0))
            nextGeneration += 1
            generations.append(nextGeneration)
            return (open.count, nextGeneration)
        }

        /// Closes every container deeper than `level` open containers.
        func close(downTo level: Int) {
            while open.count > level {
                let container = open.removeLast()
                generations.removeLast()
                bytes.append(container.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
            }
        }

        /// Makes the container at `level` the innermost again (closing those its earlier members
        /// opened) and starts its next member; refuses when that container was itself closed.
        func beginMember(level: Int, generation: Int, key: String?, codingPath: [any CodingKey]) throws {
            guard level <= open.count, generations[level - 1] == generation else {
                throw Unsupported(description: "a container at \(Self.describe(codingPath)) was written to after it closed")
            }
            close(downTo: level)
            if open[level - 1].count > 0 { bytes.append(UInt8(ascii: ",")) }
            open[level - 1].count += 1
            if let key {
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
            }
        }

        func writeASCII(_ text: String) { bytes.append(contentsOf: text.utf8) }

        func writeFloatingPoint<Number: BinaryFloatingPoint & LosslessStringConvertible>(_ number: Number, codingPath: [any CodingKey]) throws {
            guard number.isFinite else {
                throw EncodingError.invalidValue(number, .init(codingPath: codingPath, debugDescription: "\(number) is not valid JSON"))
            }
            // Swift writes the shortest text that reads back as the same number; JSON accepts it
            // ("1e-05" included). Whole numbers lose their ".0", as JSONEncoder writes them.
            var text = String(number)
            if text.hasSuffix(".0") { text.removeLast(2) }
            writeASCII(text)
        }

        func writeString(_ string: String) {
            bytes.append(UInt8(ascii: "\""))
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }

        /// What `superEncoder` returns: not streamed; it writes to a scratch buffer and the output is refused.
        func refusingEncoder(codingPath: [any CodingKey]) -> any Encoder {
            refuse("superEncoder at \(Self.describe(codingPath)) is not streamed")
            return ValueEncoder(writer: Writer(), depth: 0, codingPath: codingPath)
        }

        static func describe(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the top level" : codingPath.map(\.stringValue).joined(separator: ".")
        }
    }
}

/// The encoder handed to one value's `encode(to:)`: the value's slot is already prepared (comma and
/// key written), so whichever container it asks for starts right there.
private struct ValueEncoder: Encoder {
    let writer: StreamingJSONEncoder.Writer
    /// Containers open when the value started: the ones it opens are deeper.
    let depth: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(writer: writer, container: slotContainer(isObject: true), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(writer: writer, container: slotContainer(isObject: false), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(writer: writer, codingPath: codingPath)
    }

    /// The container this value opened, opened now if it has none yet. A second request for the same
    /// kind returns the same container (a class and its superclass may share one); one for the other
    /// kind is refused.
    private func slotContainer(isObject: Bool) -> (level: Int, generation: Int) {
        guard writer.open.count > depth else { return writer.openContainer(isObject: isObject) }
        let level = depth + 1
        if writer.open[level - 1].isObject != isObject {
            writer.refuse("a value at \(StreamingJSONEncoder.Writer.describe(codingPath)) asked for two kinds of container")
        }
        return (level, writer.generations[level - 1])
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: StreamingJSONEncoder.Writer
    let container: (level: Int, generation: Int)
    let codingPath: [any CodingKey]

    private func begin(_ key: Key) throws {
        try writer.beginMember(level: container.level, generation: container.generation, key: key.stringValue, codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        writer.writeASCII("null")
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try begin(key); writer.writeASCII(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { try begin(key); writer.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try begin(key); try writer.writeFloatingPoint(value, codingPath: codingPath + [key]) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try begin(key); try writer.writeFloatingPoint(value, codingPath: codingPath + [key]) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try begin(key); writer.writeASCII(String(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try writer.writeValue(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedContainer<NestedKey>(writer: writer, container: nested(isObject: true, key: key), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedContainer(writer: writer, container: nested(isObject: false, key: key), codingPath: codingPath + [key])
    }

    /// Opens a container as the member `key` (refused, not thrown: the protocol cannot throw here).
    private func nested(isObject: Bool, key: Key) -> (level: Int, generation: Int) {
        do {
            try begin(key)
        } catch {
            writer.refuse("\(error)")
        }
        return writer.openContainer(isObject: isObject)
    }

    mutating func superEncoder() -> any Encoder { writer.refusingEncoder(codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { writer.refusingEncoder(codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let writer: StreamingJSONEncoder.Writer
    let container: (level: Int, generation: Int)
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(writer: StreamingJSONEncoder.Writer, container: (level: Int, generation: Int), codingPath: [any CodingKey]) {
        self.writer = writer
        self.container = container
        self.codingPath = codingPath
    }

    private mutating func begin() throws {
        try writer.beginMember(level: container.level, generation: container.generation, key: nil, codingPath: codingPath)
        count += 1
    }

    mutating func encodeNil() throws { try begin(); writer.writeASCII("null") }
    mutating func encode(_ value: Bool) throws { try begin(); writer.writeASCII(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { try begin(); writer.writeString(value) }
    mutating func encode(_ value: Double) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int8) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int16) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int32) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int64) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt8) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt16) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt32) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt64) throws { try begin(); writer.writeASCII(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try begin()
        try writer.writeValue(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedContainer<NestedKey>(writer: writer, container: nested(isObject: true), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(writer: writer, container: nested(isObject: false), codingPath: codingPath)
    }

    private mutating func nested(isObject: Bool) -> (level: Int, generation: Int) {
        do {
            try begin()
        } catch {
            writer.refuse("\(error)")
        }
        return writer.openContainer(isObject: isObject)
    }

    mutating func superEncoder() -> any Encoder { writer.refusingEncoder(codingPath: codingPath) }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let writer: StreamingJSONEncoder.Writer
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { writer.writeASCII("null") }
    mutating func encode(_ value: Bool) throws { writer.writeASCII(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { writer.writeString(value) }
    mutating func encode(_ value: Double) throws { try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int8) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int16) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int32) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: Int64) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt8) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt16) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt32) throws { writer.writeASCII(String(value)) }
    mutating func encode(_ value: UInt64) throws { writer.writeASCII(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.writeValue(value, codingPath: codingPath) }
}
