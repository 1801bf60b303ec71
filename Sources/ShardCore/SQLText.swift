/// Quoting for the only two ways user text enters generated SQL.
public enum SQLText {
    /// A double-quoted identifier: `"name"`, with `"` doubled.
    public static func identifier(_ name: String) -> String {
        quote(name, with: 0x22)
    }

    /// A single-quoted string literal: `'text'`, with `'` doubled.
    public static func literal(_ text: String) -> String {
        quote(text, with: 0x27)
    }

    /// The placeholder of parameter `n` in a shard statement: `+?n`, not `?n`. From
    /// 3.47 or so, SQLite marks a bare `?n` that the planner looks at (beside an
    /// ORDER BY, or as a LIMIT) as plan-sensitive, and then every new binding of it
    /// re-prepares the statement at its next step: 20 µs on each shard visit. The
    /// unary `+` keeps the value, its (missing) affinity and the use of an index,
    /// and hides the parameter from that check.
    public static func parameter(_ n: Int) -> String {
        "+?" + String(n)
    }

    /// Whether SQL text names `name` (ASCII, matched without regard to case) as a word
    /// of its own: not inside a longer identifier. A mention anywhere counts, in a
    /// comment or a string too; see `DirectCall`.
    public static func mentions(_ sql: UnsafeRawBufferPointer, _ name: String) -> Bool {
        let n = Array(name.utf8)
        guard !n.isEmpty, sql.count >= n.count else { return false }
        // What SQLite reads as part of an identifier: letters, digits, _, $ and non-ASCII.
        func isWord(_ b: UInt8) -> Bool { ASCII.isWordByte(b) || b == 0x24 || b >= 0x80 }
        func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
        var i = 0
        while i + n.count <= sql.count {
            if (i == 0 || !isWord(sql[i - 1])) && (i + n.count == sql.count || !isWord(sql[i + n.count])) {
                var k = 0
                while k < n.count && lower(sql[i + k]) == lower(n[k]) { k += 1 }
                if k == n.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Whether SQL text holds nothing to run: spaces, `;` and comments only.
    public static func isBlank(_ sql: String) -> Bool {
        let b = Array(sql.utf8)
        var i = 0
        while i < b.count {
            if ASCII.isSpace(b[i]) || b[i] == UInt8(ascii: ";") {
                i += 1
            } else if b[i] == UInt8(ascii: "-") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "-") {
                while i < b.count && b[i] != 0x0A { i += 1 }
            } else if b[i] == UInt8(ascii: "/") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < b.count && !(b[i] == UInt8(ascii: "*") && b[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i += 2
            } else {
                return false
            }
        }
        return true
    }

    // Works on bytes, not Characters: a quote followed by a combining mark is one
    // Character in Swift but still a quote to SQLite.
    private static func quote(_ text: String, with mark: UInt8) -> String {
        var bytes: [UInt8] = [mark]
        bytes.reserveCapacity(text.utf8.count + 2)
        for b in text.utf8 {
            if b == mark { bytes.append(mark) }
            bytes.append(b)
        }
        bytes.append(mark)
        return String(decoding: bytes, as: UTF8.self)
    }
}
