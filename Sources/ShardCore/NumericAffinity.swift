/// SQLite's NUMERIC affinity applied to a text value, as it converts the other side
/// of a comparison with a column declared INTEGER or REAL (applyNumericAffinity and
/// sqlite3AtoF): optional spaces, an optional sign, digits with an optional `.` and
/// an optional exponent, optional spaces, and nothing else. A whole number that fits
/// in 64 bits becomes an integer, any other number a real; other text stays text (nil).
public enum NumericAffinity {
    public static func convert(_ text: String) -> PruneValue? {
        let trimmed = ASCII.trimmed(text)
        let b = Array(trimmed.utf8)
        var i = 0
        if i < b.count && (b[i] == 0x2B || b[i] == 0x2D) { i += 1 }   // + -
        var digits = 0, integral = true
        while i < b.count && ASCII.isDigit(b[i]) { i += 1; digits += 1 }
        if i < b.count && b[i] == 0x2E {                                  // .
            integral = false
            i += 1
            while i < b.count && ASCII.isDigit(b[i]) { i += 1; digits += 1 }
        }
        guard digits > 0 else { return nil }
        if i < b.count && (b[i] | 0x20) == 0x65 {                         // e E
            integral = false
            i += 1
            if i < b.count && (b[i] == 0x2B || b[i] == 0x2D) { i += 1 }
            var exponentDigits = 0
            while i < b.count && ASCII.isDigit(b[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return nil }
        }
        guard i == b.count else { return nil }
        if integral, let n = Int64(trimmed) { return .integer(n) }
        guard let d = Double(trimmed) else { return nil }
        return .real(d)
    }
}
