/// Where JSON text goes wrong, for the message of a malformed document (a cold path).
///
/// SQLite 3.42+ answers with `json_error_position` (1-based, in characters); older
/// versions accept only RFC 8259 JSON, so `firstError` reads by those rules: no
/// comments, no trailing commas, no single quotes, no raw control characters in
/// strings. Positions in messages are 1-based bytes of the UTF-8 text.
public enum JSONSyntax {
    /// The 0-based byte offset of the first byte that cannot continue RFC 8259 JSON
    /// text (`bytes.count` when the text ends too early); nil when the text is JSON.
    public static func firstError(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var reader = Reader(bytes: bytes)
        return reader.firstError()
    }

    /// The 0-based byte offset of the character at 1-based `position` (what
    /// json_error_position counts), or `bytes.count` past the end.
    public static func byteOffset(ofCharacter position: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        var characters = 0
        for (i, b) in bytes.enumerated() where b & 0xC0 != 0x80 {
            characters += 1
            if characters == position { return i }
        }
        return bytes.count
    }

    /// "syntax error at byte 7, near 'x}'" for the 0-based `offset`.
    public static func describe(errorAt offset: Int, in bytes: UnsafeRawBufferPointer) -> String {
        guard offset < bytes.count else { return "it ends too early (at byte \(bytes.count + 1))" }
        var end = min(offset + 12, bytes.count)
        // Whole characters only.
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        let near = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), as: UTF8.self)
        let printable = String(near.unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) })
        return "syntax error at byte \(offset + 1), near '\(printable)'"
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        /// Containers open around `i`: true for an object.
        var open: [Bool] = []

        /// One pass, without recursion: `open` holds the containers around `i`.
        mutating func firstError() -> Int? {
            var needValue = true
            while true {
                if needValue {
                    skipSpace()
                    guard i < bytes.count else { return i }
                    switch bytes[i] {
                    case 0x7B, 0x5B:   // { [
                        let object = bytes[i] == 0x7B
                        i += 1
                        skipSpace()
                        if i < bytes.count && bytes[i] == (object ? 0x7D : 0x5D) {
                            i += 1   // empty: a whole value
                        } else {
                            open.append(object)
                            if object { guard member() else { return i } }
                            continue
                        }
                    case 0x22: guard string() else { return i }
                    case 0x74: guard word("true") else { return i }
                    case 0x66: guard word("false") else { return i }
                    case 0x6E: guard word("null") else { return i }
                    default: guard number() else { return i }
                    }
                    needValue = false
                }
                // After a value: the end, a container's close, or a comma and the next one.
                skipSpace()
                guard let inObject = open.last else { return i == bytes.count ? nil : i }
                guard i < bytes.count else { return i }
                if bytes[i] == (inObject ? 0x7D : 0x5D) {
                    open.removeLast()
                    i += 1
                    continue
                }
                guard bytes[i] == 0x2C else { return i }
                i += 1
                skipSpace()
                if inObject { guard member() else { return i } }
                needValue = true
            }
        }

        /// `"key" :` then whitespace, leaving `i` at the member's value.
        mutating func member() -> Bool {
            guard i < bytes.count, bytes[i] == 0x22, string() else { return false }
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x3A else { return false }
            i += 1
            skipSpace()
            return true
        }

        mutating func string() -> Bool {
            i += 1
            while i < bytes.count {
                let b = bytes[i]
                if b == 0x22 {
                    i += 1
                    return true
                }
                if b < 0x20 { return false }
                if b == 0x5C {
                    i += 1
                    guard i < bytes.count else { return false }
                    switch bytes[i] {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 1
                    case 0x75:
                        i += 1
                        for _ in 0..<4 {
                            guard i < bytes.count, isHex(bytes[i]) else { return false }
                            i += 1
                        }
                    default: return false
                    }
                    continue
                }
                i += 1
            }
            return false
        }

        mutating func word(_ w: StaticString) -> Bool {
            let text = UnsafeRawBufferPointer(start: w.utf8Start, count: w.utf8CodeUnitCount)
            for b in text {
                guard i < bytes.count, bytes[i] == b else { return false }
                i += 1
            }
            return true
        }

        mutating func number() -> Bool {
            if i < bytes.count && bytes[i] == 0x2D { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { return false }
            if bytes[i] == 0x30 { i += 1 } else { digits() }
            if i < bytes.count && bytes[i] == 0x2E {
                i += 1
                guard i < bytes.count, isDigit(bytes[i]) else { return false }
                digits()
            }
            if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
                i += 1
                if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
                guard i < bytes.count, isDigit(bytes[i]) else { return false }
                digits()
            }
            return true
        }

        mutating func digits() { while i < bytes.count && isDigit(bytes[i]) { i += 1 } }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
        func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20) &- 0x61 < 6 }
    }
}
