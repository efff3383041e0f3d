import Foundation
import SyncTestSupport
import Testing
@testable import PlanningCenter
import SyncCore

@Suite("JSON parser and documents built without Codable")
struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test("every recorded fixture yields the same document as the Codable decoder")
    func fixturesMatchCodable() throws {
        for fixture in try TestServices.recordedFixtures() {
            let (status, body) = try DecodingTests.body(of: fixture)
            guard status < 400 else { continue }
            let expected = try JSONDecoder().decode(JSONAPIDocument.self, from: body)
            #expect(try JSONAPIDocument.decode(body) == expected, "\(fixture.lastPathComponent)")
        }
    }

    /// The raw copy of a record is its resource's own text; it must be exactly that resource (an
    /// off-by-one span would cut a brace or take a comma, and a shifted one another resource).
    @Test("every resource of every recorded fixture carries its own text, which parses to the same resource")
    func resourcesCarryTheirText() throws {
        var resources = 0
        for fixture in try TestServices.recordedFixtures() {
            let (status, body) = try DecodingTests.body(of: fixture)
            guard status < 400 else { continue }
            let document = try JSONAPIDocument.decode(body)
            for resource in document.resources + document.included {
                let text = try #require(resource.sourceText, "\(fixture.lastPathComponent) \(resource.identifier)")
                let alone = try JSONAPIResource(json: JSONParser.parse(Array(text.utf8)), at: "$")
                #expect(alone == resource, "\(fixture.lastPathComponent) \(resource.identifier)")
                #expect(text.first == "{" && text.last == "}")
                resources += 1
            }
        }
        #expect(resources > 100)
        // One resource as `data` (not an array), and members around and between the resources.
        let one = #"{"meta":{"x":[1]}, "data" : {"type":"Person","id":"1","attributes":{"a":[{}]}} ,"included":[ {"type":"Email","id":"2"} , {"type":"Email","id":"3"}]}"#
        let document = try JSONAPIDocument.decode(Data(one.utf8))
        #expect(document.resources.first?.sourceText == #"{"type":"Person","id":"1","attributes":{"a":[{}]}}"#)
        #expect(document.included.map(\.sourceText) == [#"{"type":"Email","id":"2"}"#, #"{"type":"Email","id":"3"}"#])
        #expect(try JSONAPIDocument.decode(Data(#"{"data":null}"#.utf8)).resources.isEmpty)
    }

    @Test("scalars: integers stay integers, big or fractional numbers become doubles")
    func scalars() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("0") == .int(0))
        #expect(try parse("-42") == .int(-42))
        #expect(try parse("9223372036854775807") == .int(.max))
        #expect(try parse("-9223372036854775808") == .int(.min))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try parse("2.5") == .double(2.5))
        #expect(try parse("-1.25e2") == .double(-125))
        #expect(try parse("1E-2") == .double(0.01))
        #expect(try parse("1.0") == .double(1))
    }

    @Test("strings: escapes, surrogate pairs and multi-byte UTF-8 decode")
    func strings() throws {
        #expect(try parse(#""plain""#) == .string("plain"))
        #expect(try parse(#""""#) == .string(""))
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"))
        #expect(try parse(#""caf\u00e9 \u00E9""#) == .string("café é"))
        #expect(try parse(#""\ud83d\ude00!""#) == .string("😀!"))
        #expect(try parse("\"Zoë 😀 漢字\"") == .string("Zoë 😀 漢字"))
        #expect(try parse(#""before \u0000 after""#) == .string("before \u{0} after"))
    }

    @Test("containers: nesting, empty containers, whitespace, a repeated key keeps the last value")
    func containers() throws {
        #expect(try parse(" { \"a\" : [ 1 , { } , [ ] , \"x\" ] ,\n\t\"b\":null } ")
            == .object(["a": .array([.int(1), .object([:]), .array([]), .string("x")]), "b": .null]))
        #expect(try parse(#"{"k": 1, "k": 2}"#) == .object(["k": .int(2)]))
        let deep = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect(throws: Never.self) { try parse(deep) }
    }

    @Test("malformed input is an error saying what and where", arguments: [
        ("", "unexpected end of input"),
        ("{\"a\": 1", "expected ',' or '}'"),
        ("[1, 2", "expected ',' or ']'"),
        ("[1,]", "expected a value"),
        ("{\"a\" 1}", "expected ':'"),
        ("{a: 1}", "expected a quoted object key"),
        ("\"open", "unterminated string"),
        ("\"tab\there\"", "unescaped control character"),
        (#""\x""#, "invalid escape"),
        (#""\u12G4""#, "invalid hex digit"),
        (#""\ud83d""#, "without its low surrogate"),
        (#""\ude00""#, "lone low surrogate"),
        ("01", "leading zero"),
        ("-", "without digits"),
        ("1.", "after '.'"),
        ("1e", "exponent"),
        ("1e999", "out of range"),
        ("tru", "invalid literal"),
        ("nul", "invalid literal"),
        ("{} {}", "after the JSON value"),
        ("<html>", "unexpected '<'"),
    ])
    func malformed(text: String, reason: String) {
        #expect {
            try parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.reason.contains(reason)
        }
    }

    @Test("invalid UTF-8 and too deep nesting are errors")
    func invalidBytesAndDepth() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        let tooDeep = String(repeating: "[", count: JSONParser.maximumDepth + 1) + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        #expect(throws: JSONParseError.self) { try parse(tooDeep) }
    }

    @Test("an error names its line and column")
    func position() throws {
        let error = try #require(throws: JSONParseError.self) { try parse("{\n  \"a\": 1,\n  \"b\": ?\n}") }
        #expect(error.line == 3)
        #expect(error.column == 8)
        #expect(error.description.contains("line 3, column 8"))
    }

    @Test("a member of the wrong shape is an error naming its path")
    func shapeErrors() throws {
        func shapeError(_ text: String) throws -> JSONAPIShapeError {
            try #require(throws: JSONAPIShapeError.self) { try JSONAPIDocument.decode(Data(text.utf8)) }
        }
        #expect(try shapeError(#"{"meta": {}}"#) == JSONAPIShapeError(path: "$.data", problem: "is missing"))
        #expect(try shapeError(#"[]"#).path == "$")
        #expect(try shapeError(#"{"data": [{"type": "Person", "id": "1"}, {"type": "Person"}]}"#)
            == JSONAPIShapeError(path: "$.data[1].id", problem: "is missing"))
        #expect(try shapeError(#"{"data": [{"type": "Person", "id": true}]}"#).path == "$.data[0].id")
        #expect(try shapeError(#"{"data": {"type": "Person", "id": "1", "relationships": {"emails": {"data": [1]}}}}"#)
            .path == "$.data.relationships.emails.data[0]")
        #expect(try shapeError(#"{"data": [], "meta": {"next": {"offset": "25"}}}"#).path == "$.meta.next.offset")
        #expect(try shapeError(#"{"data": [], "included": {}}"#).path == "$.included")
    }

    /// Random documents written by Foundation's serializer (escapes, unicode, numbers, nesting) parse
    /// to the values that were written.
    @Test("random values written by JSONSerialization parse back to themselves")
    func randomRoundTrip() throws {
        var generator = SplitMix64(seed: 20261126)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = try JSONSerialization.data(withJSONObject: Self.foundationObject(["v": value]), options: [.fragmentsAllowed])
            #expect(try JSONParser.parse(text) == .object(["v": value]))
        }
    }

    /// 20,000 inputs: truncations, byte flips, insertions and deletions of real PCO pages and of
    /// random bytes. Each either parses (and then survives writing and parsing again unchanged) or is
    /// a `JSONParseError`; nothing traps.
    @Test("fuzz: mutated and random inputs never crash the parser")
    func fuzz() throws {
        var generator = SplitMix64(seed: 7)
        let seeds = try TestServices.recordedFixtures().prefix(6).map { try DecodingTests.body(of: $0).body }
            .map { Array($0.prefix(1_500)) } + [Array(#"{"a":[1,-2.5e3,"\u00e9\ud83d\ude00",true,null,{}]}"#.utf8)]
        let alphabet = Array(#"{}[]",:-+.eE0123456789tfnul\ "#.utf8) + [0x00, 0x0A, 0xC3, 0xFF, 0xED, 0xA0]
        var parsed = 0
        for round in 0..<20_000 {
            var input = seeds[round % seeds.count]
            switch round % 5 {
            case 0: input = Array(input.prefix(Int.random(in: 0...input.count, using: &generator)))
            case 1, 2:
                for _ in 0..<Int.random(in: 1...4, using: &generator) where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &generator)] = alphabet.randomElement(using: &generator)!
                }
            case 3:
                let at = Int.random(in: 0...input.count, using: &generator)
                if Bool.random(using: &generator), at < input.count {
                    input.removeSubrange(at..<min(input.count, at + Int.random(in: 1...8, using: &generator)))
                } else {
                    input.insert(alphabet.randomElement(using: &generator)!, at: at)
                }
            default:
                input = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            }
            do {
                let value = try JSONParser.parse(input)
                var written = ""
                JSONText.write(value, into: &written)
                #expect(try JSONParser.parse(Array(written.utf8)) == value)
                parsed += 1
            } catch is JSONParseError {
                // The expected outcome for most inputs; any other error fails the test.
            }
        }
        #expect(parsed > 0)
    }

    // MARK: - Helpers

    private static func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let pieces = ["a", "é", "😀", "\"", "\\", "/", "\n", "\t", "\u{01}", "漢", " ", "<>&", "\u{7F}"]
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &generator))
        case 3: return .double(Double(Int.random(in: -100_000...100_000, using: &generator)) / 64 + 1.0 / 128)  // never integral
        case 4: return .string((0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        case 5: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                members["k\(index)\(pieces.randomElement(using: &generator)!)"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    private static func foundationObject(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let flag): flag
        case .int(let number): NSNumber(value: number)
        case .double(let number): NSNumber(value: number)
        case .string(let text): text
        case .array(let elements): elements.map(foundationObject)
        case .object(let members): members.mapValues(foundationObject)
        }
    }

    private static func foundationObject(_ members: [String: JSONValue]) -> Any { foundationObject(.object(members)) }
}
