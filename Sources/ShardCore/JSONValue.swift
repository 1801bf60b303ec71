/// A small strict JSON parser (RFC 8259): objects keep member order; duplicate keys are
/// an error; numbers without fraction/exponent that fit Int64 are .integer, others
/// .double; max nesting depth 64.
///
/// Details: whitespace is space, tab, CR and LF only; nothing but whitespace may follow
/// the value; a number too large for a finite Double (`1e400`) is an error; `-0` is
/// `.integer(0)`; `\u` escapes must pair surrogates; `\u0000` is allowed. Keys are
/// duplicates when their UTF-8 bytes are equal (what SQLite's JSON functions compare),
/// so the NFC and NFD spellings of one name are two keys. Error offsets count UTF-8
/// bytes from 0.
public enum JSONValue: Equatable, Sendable {
    case null, bool(Bool), integer(Int64), double(Double), string(String), array([JSONValue]), object([JSONMember])

    public static let maxDepth = 64

    /// Errors: "shards: bad query document: <what> at offset N".
    public static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(Array(text.utf8))
        return try parser.document()
    }

    /// "null", "a boolean", "an integer", ...: for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

public struct JSONMember: Equatable, Sendable {
    public let key: String
    public let value: JSONValue
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> JSONValue {
        skipSpace()
        let value = try self.value()
        skipSpace()
        guard i == bytes.count else { throw failure("unexpected \(describe(at: i)) after the value") }
        return value
    }

    private func failure(_ what: String, at offset: Int? = nil) -> ShardError {
        ShardError("bad query document: \(what) at offset \(offset ?? i)")
    }

    /// What stands at `offset`, for "unexpected ..." messages.
    private func describe(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let b = bytes[offset]
        if b >= 0x21 && b <= 0x7E { return "character '\(Character(Unicode.Scalar(b)))'" }
        let scalar = String(decoding: bytes[offset..<min(offset + 4, bytes.count)], as: UTF8.self)
            .unicodeScalars.first ?? Unicode.Scalar(b)
        return "character U+" + hex(scalar.value, digits: 4)
    }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func value() throws -> JSONValue {
        guard i < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected \(describe(at: i)), expected a value")
        }
    }

    private mutating func literal(_ word: String) throws {
        let start = i
        let w = Array(word.utf8)
        let end = start + w.count
        // "trueish" is not "true": the literal must end at a delimiter.
        guard end <= bytes.count, bytes[start..<end].elementsEqual(w),
              end == bytes.count || !ASCII.isWordByte(bytes[end]) else {
            throw failure("invalid literal, expected a value", at: start)
        }
        i = end
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= JSONValue.maxDepth else {
            throw failure("nesting deeper than \(JSONValue.maxDepth)")
        }
    }

    private mutating func object() throws -> JSONValue {
        try enter()
        i += 1
        var members: [JSONMember] = []
        var seen = Set<[UInt8]>()
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describe(at: i)), expected a string key")
            }
            let keyOffset = i
            let key = try string()
            guard seen.insert(Array(key.utf8)).inserted else {
                throw failure("duplicate key \(Message.quote(key))", at: keyOffset)
            }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw failure("unexpected \(describe(at: i)), expected ':'")
            }
            i += 1
            skipSpace()
            members.append(JSONMember(key: key, value: try value()))
            skipSpace()
            guard i < bytes.count else { throw failure("unexpected end of input, expected ',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "}") else {
                throw failure("unexpected \(describe(at: i)), expected ',' or '}'")
            }
            i += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func array() throws -> JSONValue {
        try enter()
        i += 1
        var elements: [JSONValue] = []
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipSpace()
            elements.append(try value())
            skipSpace()
            guard i < bytes.count else { throw failure("unexpected end of input, expected ',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "]") else {
                throw failure("unexpected \(describe(at: i)), expected ',' or ']'")
            }
            i += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func string() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw failure("unterminated string", at: start) }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0x00..<0x20:
                throw failure("control character U+\(hex(UInt32(b), digits: 4)) in a string, write it as an escape")
            default:
                out.append(b)
                i += 1
            }
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        let start = i
        guard i + 1 < bytes.count else { throw failure("unterminated string", at: start) }
        let simple: UInt8?
        switch bytes[i + 1] {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw failure("invalid escape in a string", at: start)
        }
        if let simple {
            out.append(simple)
            i += 2
            return
        }
        var code = try hex4(at: i + 2, escapeStart: start)
        i += 6
        if code >= 0xDC00 && code <= 0xDFFF {
            throw failure("unpaired surrogate \\u\(hex(code, digits: 4)) in a string", at: start)
        }
        if code >= 0xD800 && code <= 0xDBFF {
            guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate \\u\(hex(code, digits: 4)) in a string", at: start)
            }
            let low = try hex4(at: i + 2, escapeStart: i)
            guard low >= 0xDC00 && low <= 0xDFFF else {
                throw failure("unpaired surrogate \\u\(hex(code, digits: 4)) in a string", at: start)
            }
            i += 6
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        UTF8.encode(Unicode.Scalar(code)!) { out.append($0) }
    }

    private func hex4(at offset: Int, escapeStart: Int) throws -> UInt32 {
        guard offset + 4 <= bytes.count else {
            throw failure("invalid \\u escape, expected 4 hex digits", at: escapeStart)
        }
        var code: UInt32 = 0
        for b in bytes[offset..<offset + 4] {
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - 0x41 + 10
            default: throw failure("invalid \\u escape, expected 4 hex digits", at: escapeStart)
            }
            code = code << 4 | UInt32(digit)
        }
        return code
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let intStart = i
        guard i < bytes.count, ASCII.isDigit(bytes[i]) else {
            throw failure("invalid number, expected a digit", at: i)
        }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count && ASCII.isDigit(bytes[i]) {
                throw failure("invalid number, leading zeros are not allowed", at: start)
            }
        } else {
            while i < bytes.count && ASCII.isDigit(bytes[i]) { i += 1 }
        }
        let intEnd = i
        var isInteger = true
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < bytes.count, ASCII.isDigit(bytes[i]) else {
                throw failure("invalid number, expected a digit after '.'", at: i)
            }
            while i < bytes.count && ASCII.isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count && (bytes[i] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < bytes.count, ASCII.isDigit(bytes[i]) else {
                throw failure("invalid number, expected a digit in the exponent", at: i)
            }
            while i < bytes.count && ASCII.isDigit(bytes[i]) { i += 1 }
        }
        if isInteger, let n = int64(digits: bytes[intStart..<intEnd], negative: negative) {
            return .integer(n)
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw failure("number \(text) is out of range", at: start)
        }
        return .double(d)
    }

    /// The digits as an Int64, or nil when they do not fit (then the number is a double).
    private func int64(digits: ArraySlice<UInt8>, negative: Bool) -> Int64? {
        // Accumulate negatively so Int64.min fits.
        var n: Int64 = 0
        for b in digits {
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(Int64(b - 0x30))
            if o1 || o2 { return nil }
            n = next
        }
        if negative { return n }
        return n == Int64.min ? nil : -n
    }
}

private func hex(_ value: UInt32, digits: Int) -> String {
    let s = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - s.count)) + s
}
