/// Reads `YYYY-MM-DD[(T|t| )HH:MM[:SS[.f+]]][ ][Z|z|±HH:MM|±HHMM|±HH]` on raw
/// UTF-8 bytes: it runs once per inserted document, so it builds no strings.
enum TimeParser {
    static let expected = "expected YYYY-MM-DD, optionally followed by THH:MM[:SS[.fff]] and Z or +HH:MM"

    static func parse(_ text: String) throws -> Int64 {
        var copy = text
        return try copy.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            guard let ms = try reader.time(fail: { failure(text, $0) }) else {
                throw failure(text, expected)
            }
            return ms
        }
    }

    private static func failure(_ text: String, _ reason: String) -> ShardError {
        ShardError("bad time \(Message.quote(text)): \(reason)")
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        var atEnd: Bool { at == bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[at] }

        mutating func take(_ b: UInt8) -> Bool {
            guard peek == b else { return false }
            at += 1
            return true
        }

        /// Exactly `count` digits, or nil.
        mutating func number(_ count: Int) -> Int64? {
            guard bytes.count - at >= count else { return nil }
            var value: Int64 = 0
            for _ in 0..<count {
                guard ASCII.isDigit(bytes[at]) else { return nil }
                value = value * 10 + Int64(bytes[at] - 0x30)
                at += 1
            }
            return value
        }

        /// Epoch ms; nil when the text does not have the expected shape,
        /// `fail(reason)` when it does but a field is out of range.
        mutating func time(fail: (String) -> ShardError) throws -> Int64? {
            guard let year = number(4), take(0x2D), let month = number(2), take(0x2D),
                  let day = number(2) else { return nil }
            guard (1...12).contains(month) else { throw fail("month \(two(month)) is not 01-12") }
            let monthDays = Civil.daysInMonth(year: year, month: month)
            guard (1...monthDays).contains(day) else {
                throw fail("day \(two(day)) is not 01-\(monthDays) in \(four(year))-\(two(month))")
            }
            var ms = Civil.days(year: year, month: month, day: day) * Civil.msPerDay
            if !atEnd {
                guard let clock = try timeOfDay(fail: fail) else { return nil }
                ms += clock
                _ = take(0x20)
                guard let offset = try zone(fail: fail), atEnd else { return nil }
                ms -= offset
            }
            guard ms >= Time.minimum else { throw fail("before 0000-01-01T00:00:00Z") }
            guard ms <= Time.maximum else { throw fail("after 9999-12-31T23:59:59.999Z") }
            return ms
        }

        private mutating func timeOfDay(fail: (String) -> ShardError) throws -> Int64? {
            guard take(UInt8(ascii: "T")) || take(UInt8(ascii: "t")) || take(0x20),
                  let hour = number(2), take(0x3A), let minute = number(2) else { return nil }
            var second: Int64 = 0
            var fraction: Int64 = 0
            if take(0x3A) {
                guard let s = number(2) else { return nil }
                second = s
                if take(0x2E) {
                    let start = at
                    while let b = peek, ASCII.isDigit(b) {
                        // Only milliseconds are kept; further digits are truncated.
                        if at - start < 3 { fraction = fraction * 10 + Int64(b - 0x30) }
                        at += 1
                    }
                    guard at > start else { return nil }
                    for _ in min(at - start, 3)..<3 { fraction *= 10 }
                }
            }
            guard hour <= 23 else { throw fail("hour \(two(hour)) is not 00-23") }
            guard minute <= 59 else { throw fail("minute \(two(minute)) is not 00-59") }
            guard second <= 59 else { throw fail("second \(two(second)) is not 00-59") }
            return hour * Civil.msPerHour + minute * Civil.msPerMinute + second * Civil.msPerSecond + fraction
        }

        /// The zone's offset from UTC in ms; 0 when absent.
        private mutating func zone(fail: (String) -> ShardError) throws -> Int64? {
            guard let sign = peek else { return at > 0 && bytes[at - 1] == 0x20 ? nil : 0 }
            if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) { return 0 }
            guard sign == 0x2B || sign == 0x2D else { return nil }
            at += 1
            guard let hours = number(2) else { return nil }
            var minutes: Int64 = 0
            if take(0x3A) || (peek.map(ASCII.isDigit) ?? false) {
                guard let m = number(2) else { return nil }
                minutes = m
            }
            guard hours <= 14 else { throw fail("zone offset hours \(two(hours)) are more than 14") }
            guard minutes <= 59 else { throw fail("zone offset minutes \(two(minutes)) are not 00-59") }
            let offset = hours * Civil.msPerHour + minutes * Civil.msPerMinute
            return sign == 0x2D ? -offset : offset
        }

        private func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        private func four(_ v: Int64) -> String { String(repeating: "0", count: max(0, 4 - String(v).count)) + String(v) }
    }
}
