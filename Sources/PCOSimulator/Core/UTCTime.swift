import Foundation

/// PCO's time formats: `YYYY-MM-DDTHH:MM:SSZ` for date-times (always UTC) and `YYYY-MM-DD` for dates.
///
/// Hand-written civil-date arithmetic (Howard Hinnant's algorithm) because rendering a timestamp is on
/// the hot path of every page and `DateFormatter` is both slow and locale-sensitive.
enum UTCTime {
    /// Days since 1970-01-01 for a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// `2018-11-25T20:31:31Z`
    static func formatDateTime(_ epochSeconds: Int64) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        appendDateTime(epochSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendDateTime(_ epochSeconds: Int64, to bytes: inout [UInt8]) {
        let secs = Int(epochSeconds)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = secs - days * 86_400
        let (y, m, d) = civil(days: days)
        appendDigits(y, 4, &bytes); bytes.append(UInt8(ascii: "-"))
        appendDigits(m, 2, &bytes); bytes.append(UInt8(ascii: "-"))
        appendDigits(d, 2, &bytes); bytes.append(UInt8(ascii: "T"))
        appendDigits(rem / 3600, 2, &bytes); bytes.append(UInt8(ascii: ":"))
        appendDigits(rem % 3600 / 60, 2, &bytes); bytes.append(UInt8(ascii: ":"))
        appendDigits(rem % 60, 2, &bytes); bytes.append(UInt8(ascii: "Z"))
    }

    /// `1984-05-12`
    static func formatDate(days: Int) -> String {
        let (y, m, d) = civil(days: days)
        var bytes = [UInt8]()
        appendDigits(y, 4, &bytes); bytes.append(UInt8(ascii: "-"))
        appendDigits(m, 2, &bytes); bytes.append(UInt8(ascii: "-"))
        appendDigits(d, 2, &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendDigits(_ value: Int, _ width: Int, _ bytes: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var v = value
        var i = width - 1
        while i >= 0 {
            digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        bytes.append(contentsOf: digits)
    }

    /// A parsed `where` value for a date-time attribute.
    enum ParsedInstant: Equatable {
        /// A full timestamp, already in UTC seconds.
        case instant(Int64)
        /// A bare date, to be interpreted in the organization's time zone (PCO's documented rule).
        case localDate(days: Int)
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`, with optional fractional seconds and `±HH:MM` offsets.
    static func parse(_ text: String) -> ParsedInstant? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from ..< from + len {
                let c = b[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == UInt8(ascii: "-"), let mo = num(5, 2),
              b[7] == UInt8(ascii: "-"), let d = num(8, 2), (1 ... 12).contains(mo), (1 ... 31).contains(d)
        else { return nil }
        let days = Self.days(year: y, month: mo, day: d)
        if b.count == 10 { return .localDate(days: days) }
        guard b.count >= 19, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              let h = num(11, 2), b[13] == UInt8(ascii: ":"), let mi = num(14, 2), b[16] == UInt8(ascii: ":"),
              let s = num(17, 2), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
        }
        var offset = 0
        if i == b.count || (b[i] == UInt8(ascii: "Z") && i == b.count - 1) {
            offset = 0
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2) else { return nil }
            var om = 0
            if i + 3 < b.count {
                let start = b[i + 3] == UInt8(ascii: ":") ? i + 4 : i + 3
                guard let m = num(start, 2), start + 2 == b.count else { return nil }
                om = m
            } else if i + 3 != b.count {
                return nil
            }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let seconds = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
        return .instant(seconds)
    }

    /// The UTC instant of local midnight of `days` in the named time zone.
    static func startOfLocalDay(days: Int, timeZone identifier: String) -> Int64 {
        let utcMidnight = Int64(days) * 86_400
        guard let zone = TimeZone(identifier: identifier) else { return utcMidnight }
        // The offset at local midnight is the offset at (utcMidnight - offset) which, except across a
        // DST change at midnight, equals the offset at utcMidnight; one correction step suffices.
        var offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utcMidnight))))
        offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utcMidnight - offset))))
        return utcMidnight - offset
    }
}
