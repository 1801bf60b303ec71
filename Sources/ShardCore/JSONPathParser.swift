/// The path grammar of README's "Options" (JSON paths), strict on purpose: whatever passes here is also
/// understood the same way by SQLite's json_extract.
enum JSONPathParser {
    static let maxIndexDigits = 9

    static func steps(of source: String) throws -> [JSONPath.Step] {
        guard source.count <= JSONPath.maxLength else {
            throw failure(source, "longer than \(JSONPath.maxLength) characters")
        }
        let bytes = Array(source.utf8)
        guard bytes.first == UInt8(ascii: "$") else {
            throw failure(source, "must start with '$'")
        }
        var steps: [JSONPath.Step] = []
        var i = 1
        while i < bytes.count {
            let prefix = String(decoding: bytes[..<i], as: UTF8.self)
            switch bytes[i] {
            case UInt8(ascii: ".") where i + 1 < bytes.count && bytes[i + 1] == 0x22:
                let start = i + 2
                guard let close = bytes[start...].firstIndex(of: 0x22) else {
                    throw failure(source, "unterminated quoted name after '\(prefix)'")
                }
                guard close > start else {
                    throw failure(source, "empty quoted name after '\(prefix)'")
                }
                guard !bytes[start..<close].contains(0) else {
                    throw failure(source, "quoted name after '\(prefix)' contains a NUL character")
                }
                // Newer SQLite reads `\` in a quoted name as an escape and older ones do
                // not, so one path would name different keys (or not parse) by version.
                guard !bytes[start..<close].contains(UInt8(ascii: "\\")) else {
                    throw failure(source, "quoted name after '\(prefix)' contains '\\', which SQLite versions read differently")
                }
                steps.append(.key(String(decoding: bytes[start..<close], as: UTF8.self)))
                i = close + 1
            case UInt8(ascii: "."):
                let end = bytes[(i + 1)...].firstIndex { !ASCII.isWordByte($0) } ?? bytes.count
                guard end > i + 1 else { throw expectedStep(source, after: prefix) }
                steps.append(.key(String(decoding: bytes[(i + 1)..<end], as: UTF8.self)))
                i = end
            case UInt8(ascii: "["):
                let end = bytes[(i + 1)...].firstIndex { !ASCII.isDigit($0) } ?? bytes.count
                let digits = bytes[(i + 1)..<end]
                guard !digits.isEmpty else {
                    throw failure(source, "expected [N] with N a non-negative integer after '\(prefix)'")
                }
                guard digits.count <= maxIndexDigits else {
                    throw failure(source, "array index after '\(prefix)' has more than \(maxIndexDigits) digits")
                }
                guard end < bytes.count, bytes[end] == UInt8(ascii: "]") else {
                    let opened = String(decoding: bytes[..<end], as: UTF8.self)
                    throw failure(source, "expected ']' after '\(opened)'")
                }
                steps.append(.index(digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }))
                i = end + 1
            default:
                throw expectedStep(source, after: prefix)
            }
        }
        return steps
    }

    private static func expectedStep(_ source: String, after prefix: String) -> ShardError {
        failure(source, "expected .name, .\"quoted name\" or [N] after '\(prefix)'")
    }

    private static func failure(_ source: String, _ reason: String) -> ShardError {
        ShardError("bad JSON path \(Message.quote(source)): \(reason)")
    }
}
