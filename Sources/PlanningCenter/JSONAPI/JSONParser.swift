/// Parses JSON text (RFC 8259) into a ``JSONValue`` without Foundation's `JSONDecoder`.
///
/// Every page of every sync passes through here, so it is on the hot path: the `Codable` route
/// decoded each attribute by trying types in turn (a thrown error per miss) and took about half of a
/// page's transformation time. It also keeps Foundation's decoder out of the concurrent path, where a
/// release build of the node crashed inside it (see README, Benchmarks).
///
/// Strict where it matters for stored data: invalid UTF-8, unescaped control characters, lone
/// surrogates, leading zeros, trailing garbage and nesting deeper than ``maximumDepth`` are errors
/// that say where. Integers that fit `Int64` stay integers (PCO sends some ids as numbers); other
/// numbers become `Double`. A repeated object key keeps its last value.
///
/// `parse` is never inlined: with page decoding inlined into an async function, release builds
/// crashed the Swift 6.3.1 optimizer (signal 11 in LLVM's CoroSplit; see `StoreBenchmark`).
public struct JSONParser {
    public static let maximumDepth = 512

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// Set by ``parseDocument(_:)``: where the resource objects of the document lie in `bytes`.
    private var spans: ResourceSpans?

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    @inline(never)
    public static func parse(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        var parser = JSONParser(bytes: Array(bytes))
        return try parser.parseWhole()
    }

    /// The one value that is the whole input, with nothing but whitespace around it.
    private mutating func parseWhole() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected data after the JSON value") }
        return value
    }

    /// Parses a JSON:API document and also returns where its resource objects lie in the text: the
    /// elements of the top-level `data` (or `data` itself when it is one object) and of `included`.
    /// Each resource's own text becomes its raw copy, so the transformation does not write it anew.
    @inline(never)
    public static func parseDocument(_ bytes: some Sequence<UInt8>) throws -> (value: JSONValue, spans: ResourceSpans, bytes: [UInt8]) {
        var parser = JSONParser(bytes: Array(bytes))
        parser.spans = ResourceSpans()
        let value = try parser.parseWhole()
        return (value, parser.spans ?? ResourceSpans(), parser.bytes)
    }

    /// Byte ranges of resource objects in a document's text (see ``parseDocument(_:)``).
    public struct ResourceSpans: Sendable, Equatable {
        public var data: [Range<Int>] = []
        public var included: [Range<Int>] = []
    }

    // MARK: - Values

    private mutating func parseValue() throws -> JSONValue {
        guard let byte = peek() else { throw failure("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected \(describe(byte)), expected a value")
        }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enterContainer()
        index += 1  // {
        // Gathered in order, then put in a dictionary made at its final size: grown one member at a
        // time, a resource's attributes (25 or so) were five rehashes of the whole dictionary.
        var members: [(key: String, value: JSONValue)] = []
        members.reserveCapacity(8)
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            leaveContainer()
            return .object([:])
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a quoted object key") }
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after the key \"\(key)\"") }
            index += 1
            skipWhitespace()
            if depth == 1, spans != nil, key == "data" || key == "included" {
                members.append((key, try parseResources(included: key == "included")))
            } else {
                members.append((key, try parseValue()))
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                leaveContainer()
                var object = [String: JSONValue](minimumCapacity: members.count)
                for (key, value) in members { object[key] = value }  // a repeated key keeps its last value
                return .object(object)
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    /// The value of the root's `data` or `included` member, recording where each resource lies.
    private mutating func parseResources(included: Bool) throws -> JSONValue {
        var found: [Range<Int>]? = []
        let value: JSONValue
        if peek() == UInt8(ascii: "[") {
            value = try parseArray(elementSpans: &found)
        } else {
            let start = index
            value = try parseValue()
            if case .object = value { found?.append(start..<index) }
        }
        if included { spans?.included = found ?? [] } else { spans?.data = found ?? [] }
        return value
    }

    private mutating func parseArray() throws -> JSONValue {
        var ignored: [Range<Int>]? = nil
        return try parseArray(elementSpans: &ignored)
    }

    /// An array; with `elementSpans` non-nil, also where each element lies.
    private mutating func parseArray(elementSpans: inout [Range<Int>]?) throws -> JSONValue {
        try enterContainer()
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            leaveContainer()
            return .array(elements)
        }
        while true {
            skipWhitespace()
            let start = index
            elements.append(try parseValue())
            elementSpans?.append(start..<index)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                leaveContainer()
                return .array(elements)
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func enterContainer() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    /// Steps over the closing bracket or brace of the container being parsed.
    private mutating func leaveContainer() {
        index += 1
        depth -= 1
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let start = index
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard peek() == expected else {
                index = start
                throw failure("invalid literal, expected \(literal)")
            }
            index += 1
        }
    }

    // MARK: - Strings

    /// The string starting at the opening quote. Spans without escapes are validated and copied in
    /// one step; escapes are decoded into a byte buffer.
    private mutating func parseString() throws -> String {
        let open = index
        index += 1  // "
        let start = index
        if let text = try plainString(from: start) { return text }
        var decoded: [UInt8]? = nil
        while true {
            guard let byte = peek() else {
                index = open
                throw failure("unterminated string")
            }
            switch byte {
            case UInt8(ascii: "\""):
                let text: String? = if let decoded {
                    String(validating: decoded, as: UTF8.self)
                } else {
                    String(validating: bytes[start..<index], as: UTF8.self)
                }
                guard let text else {
                    index = open
                    throw failure("string is not valid UTF-8")
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                if decoded == nil { decoded = Array(bytes[start..<index]) }
                index += 1
                try parseEscape(into: &decoded!)
            case 0..<0x20:
                throw failure("unescaped control character \(describe(byte)) in a string")
            default:
                decoded?.append(byte)
                index += 1
            }
        }
    }

    /// Most strings have no escapes and most are ASCII: found with one scan of the raw bytes and
    /// copied without a second validating pass when ASCII. nil when the string has an escape or
    /// an error to report (the byte-by-byte loop of ``parseString()`` handles both).
    private mutating func plainString(from start: Int) throws -> String? {
        var isASCII = true
        let end: Int? = bytes.withUnsafeBufferPointer { buffer in
            var position = start
            while position < buffer.count {
                let byte = buffer[position]
                if byte == UInt8(ascii: "\"") { return position }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                if byte >= 0x80 { isASCII = false }
                position += 1
            }
            return nil
        }
        guard let end else { return nil }
        let text: String? = bytes.withUnsafeBufferPointer { buffer in
            let span = UnsafeBufferPointer(rebasing: buffer[start..<end])
            return isASCII ? String(decoding: span, as: UTF8.self) : String(validating: span, as: UTF8.self)
        }
        guard let text else {
            index = start - 1
            throw failure("string is not valid UTF-8")
        }
        index = end + 1
        return text
    }

    /// The escape after a backslash (`index` is past the backslash).
    private mutating func parseEscape(into output: inout [UInt8]) throws {
        guard let byte = peek() else { throw failure("unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHexUnit()
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                guard peek() == UInt8(ascii: "\\"), peek(offset: 1) == UInt8(ascii: "u") else {
                    throw failure("a high surrogate \\u\(hex(unit)) without its low surrogate")
                }
                index += 2
                let low = try parseHexUnit()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw failure("a high surrogate \\u\(hex(unit)) followed by \\u\(hex(low))")
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw failure("a lone low surrogate \\u\(hex(unit))")
            default:
                scalarValue = UInt32(unit)
            }
            // Surrogates were handled above, so the value is always a valid scalar.
            output.append(contentsOf: UTF8.encode(Unicode.Scalar(scalarValue)!)!)
        default:
            index -= 1
            throw failure("invalid escape \\\(describe(byte))")
        }
    }

    private mutating func parseHexUnit() throws -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw failure("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit \(describe(byte)) in a \\u escape")
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        switch peek() {
        case UInt8(ascii: "0"):
            index += 1
            if let next = peek(), isDigit(next) { throw failure("a number with a leading zero") }
        case let digit? where isDigit(digit):
            skipDigits()
        default:
            throw failure("a number without digits")
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let digit = peek(), isDigit(digit) else { throw failure("a number without digits after '.'") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw failure("a number without digits in its exponent") }
            skipDigits()
        }
        // The span is ASCII by construction.
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text), double.isFinite else {
            index = start
            throw failure("the number \(text) is out of range")
        }
        return .double(double)
    }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    // MARK: - Input

    private func peek(offset: Int = 0) -> UInt8? {
        let position = index + offset
        return position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private func hex(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    private func failure(_ reason: String) -> JSONParseError {
        var line = 1
        var column = 1
        for byte in bytes[..<min(index, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return JSONParseError(reason: reason, offset: index, line: line, column: column)
    }
}

/// Why JSON text did not parse, and where (byte offset, and line and column for people).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var line: Int
    public var column: Int

    public var description: String { "invalid JSON at line \(line), column \(column) (byte \(offset)): \(reason)" }
}
