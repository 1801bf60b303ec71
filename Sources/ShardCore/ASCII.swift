/// Byte-level character classes shared by the parsers: every name this extension
/// accepts is plain ASCII, so checks work on UTF-8 bytes without building strings.
enum ASCII {
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    static func isWordByte(_ b: UInt8) -> Bool { isLetter(b) || isDigit(b) || b == 0x5F }

    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || (b >= 0x09 && b <= 0x0D)
    }

    /// `[A-Za-z_][A-Za-z0-9_]{0,maxLength-1}`: safe as a column or table name part.
    static func isIdentifier(_ text: String, maxLength: Int = 64) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, isLetter(first) || first == 0x5F,
              bytes.count <= maxLength else { return false }
        return bytes.allSatisfy(isWordByte)
    }

    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { isLetter($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard let start = bytes.firstIndex(where: { !isSpace($0) }),
              let end = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        if start == 0 && end == bytes.count - 1 { return text }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }
}
