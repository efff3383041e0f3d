/// Query-string decoding and PCO's way of echoing a query in `links`.
enum QueryString {
    /// Decoded `(key, value)` pairs in request order; `+` is a space, `%XX` a byte.
    static func parse(_ raw: String) -> [(key: String, value: String)] {
        guard !raw.isEmpty else { return [] }
        var pairs: [(key: String, value: String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: "=") {
                pairs.append((decode(part[..<eq]), decode(part[part.index(after: eq)...])))
            } else {
                pairs.append((decode(part), ""))
            }
        }
        return pairs
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = Array(text.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%"), it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) {
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48 ... 57: return c - 48
        case 65 ... 70: return c - 55
        case 97 ... 102: return c - 87
        default: return nil
        }
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (so `,` becomes `%2C`, as PCO echoes it).
    static func encodeValue(_ text: String) -> String {
        var out: [UInt8] = []
        let digits = Array("0123456789ABCDEF".utf8)
        for c in text.utf8 {
            switch c {
            case 48 ... 57, 65 ... 90, 97 ... 122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(c >> 4)])
                out.append(digits[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Keys keep their brackets literal (`where[first_name]`), as in PCO's links.
    static func encodeKey(_ text: String) -> String {
        var out: [UInt8] = []
        let digits = Array("0123456789ABCDEF".utf8)
        for c in text.utf8 {
            switch c {
            case 48 ... 57, 65 ... 90, 97 ... 122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"), UInt8(ascii: "["), UInt8(ascii: "]"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(c >> 4)])
                out.append(digits[Int(c & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// PCO's echo of a query: parameters sorted by key, with `offset` replaced when given.
    /// Recorded: `?include=emails%2Corganization&offset=25&per_page=25&where[site_administrator]=false`.
    static func echo(_ pairs: [(key: String, value: String)], offset: Int?) -> String {
        var items = pairs
        if let offset {
            items.removeAll { $0.key == "offset" }
            items.append((key: "offset", value: String(offset)))
        }
        guard !items.isEmpty else { return "" }
        let sorted = items.enumerated().sorted { a, b in
            a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
        }
        return "?" + sorted.map { encodeKey($0.element.key) + "=" + encodeValue($0.element.value) }.joined(separator: "&")
    }
}
