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
