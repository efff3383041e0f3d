/// Builds JSON text straight into bytes.
///
/// The hot path (pages of 100 people with their emails, phones and addresses) is mostly copying
/// pre-rendered resource bytes; going through `JSONSerialization` of dictionaries would cost more
/// than everything else a request does.
struct JSONWriter {
    var bytes: [UInt8]

    init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    mutating func rawString(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func byte(_ ascii: Unicode.Scalar) {
        bytes.append(UInt8(ascii: ascii))
    }

    mutating func null() { raw("null") }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    mutating func int(_ value: Int) { rawString(String(value)) }

    mutating func double(_ value: Double) {
        if value.isFinite {
            rawString(value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value))
        } else {
            null()
        }
    }

    /// A JSON string literal, escaped per RFC 8259.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(c)
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0 ..< 0x20:
                let hex = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(c >> 4)])
                bytes.append(hex[Int(c & 0xF)])
            default: bytes.append(c)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"key":`
    mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func stringArray(_ items: [String]) {
        byte("[")
        for (i, item) in items.enumerated() {
            if i > 0 { byte(",") }
            string(item)
        }
        byte("]")
    }
}
