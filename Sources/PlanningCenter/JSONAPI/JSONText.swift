/// Writes JSON text for the adapter's own value types without `JSONEncoder`.
///
/// Two reasons: the raw document of every record is serialised on the hot path (a third of the
/// transformation's time went to `JSONEncoder`), and in release builds on Linux two `JSONEncoder`
/// instances encoding at the same time on different threads crashed the node (swift-foundation in
/// Swift 6.3.1; seen in `cluster/bench/e2e-sync`), so the hot paths avoid it.
enum JSONText {
    static func write(_ value: JSONValue, into output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let number): output += String(number)
        case .double(let number):
            output += number.isFinite ? String(number) : "null"
        case .string(let text): writeString(text, into: &output)
        case .array(let values):
            output += "["
            for (index, element) in values.enumerated() {
                if index > 0 { output += "," }
                write(element, into: &output)
            }
            output += "]"
        case .object(let members):
            writeObject(members, into: &output) { write($0, into: &$1) }
        }
    }

    static func writeObject<Value>(_ members: [String: Value], into output: inout String,
                                   _ writeValue: (Value, inout String) -> Void) {
        output += "{"
        var first = true
        for (key, value) in members {
            if !first { output += "," }
            first = false
            writeString(key, into: &output)
            output += ":"
            writeValue(value, &output)
        }
        output += "}"
    }

    static func writeString(_ text: String, into output: inout String) {
        output += "\""
        // Nearly every string needs no escape: then it goes in whole (a copy of its bytes), not
        // scalar by scalar, which took a quarter of a page's transformation time.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    static func write(_ identifier: ResourceIdentifier?, into output: inout String) {
        guard let identifier else { output += "null"; return }
        output += "{\"type\":"
        writeString(identifier.type, into: &output)
        output += ",\"id\":"
        writeString(identifier.id, into: &output)
        output += "}"
    }

    /// A resource as JSON:API writes it: type, id, attributes, relationships, links.
    static func resource(_ resource: JSONAPIResource) -> String {
        var output = "{\"type\":"
        output.reserveCapacity(512)
        writeString(resource.type, into: &output)
        output += ",\"id\":"
        writeString(resource.id, into: &output)
        output += ",\"attributes\":"
        writeObject(resource.attributes, into: &output) { write($0, into: &$1) }
        output += ",\"relationships\":"
        writeObject(resource.relationships, into: &output) { relationship, output in
            output += "{"
            var needsComma = false
            if let data = relationship.data {
                output += "\"data\":"
                switch data {
                case .toOne(let one): write(one, into: &output)
                case .toMany(let many):
                    output += "["
                    for (index, identifier) in many.enumerated() {
                        if index > 0 { output += "," }
                        write(identifier, into: &output)
                    }
                    output += "]"
                }
                needsComma = true
            }
            if let links = relationship.links {
                if needsComma { output += "," }
                output += "\"links\":"
                writeObject(links, into: &output) { write($0, into: &$1) }
            }
            output += "}"
        }
        if let links = resource.links {
            output += ",\"links\":"
            writeObject(links, into: &output) { write($0, into: &$1) }
        }
        output += "}"
        return output
    }
}
