/// What json_extract(doc, path) would return for a value, as far as the scanner can tell cheaply.
public enum ScannedValue: Equatable, Sendable {
    case missing                 // the path does not exist (json_extract gives NULL)
    case null                    // JSON null
    case bool(Bool)
    case integer(Int64)
    case real(Double)
    case text(String)            // a JSON string, unescaped
    case complex                 // an object or an array (the caller asks SQLite if it needs the text)
}

/// Reads a few values out of JSON text on the insert hot path, without SQLite.
///
/// One forward pass with a cursor; it descends only into the members the paths name and
/// skips everything else by counting brackets (no recursion there). It answers only
/// when every SQLite version agrees on the answer, and returns nil otherwise, so the
/// caller can fall back to json_extract. Checked against SQLite 3.40 and 3.54:
///
/// - Duplicate keys: the first occurrence wins (both versions).
/// - Keys: 3.40 compares a member key's raw text, 3.54 its unescaped text. A key with
///   escapes that unescapes to a key being looked for therefore gives nil, and so does
///   a path key containing a backslash (3.54 unescapes path keys, 3.40 does not).
/// - Strings: `\u0000` gives nil (3.40 cuts the text there, 3.54 keeps the NUL), as do
///   lone surrogates and invalid UTF-8 (not representable as a String), raw control
///   characters (3.40 rejects them) and any escape outside RFC 8259.
/// - Numbers: `-0` is integer 0, `-0.0` is real -0.0. Integers that overflow Int64 and
///   reals are answered only with at most 19 significant digits (3.54 rounds longer
///   mantissas differently) and a finite, normal (or exactly zero) result.
/// - JSON5 (accepted by 3.54, not by 3.40): anything outside RFC 8259 on the way to a
///   value gives nil; skipped values reject bytes that could hide structure (comments,
///   single quotes, non-ASCII outside strings), so a JSON5 document never yields a value
///   from the wrong place.
/// - Depth: more than `maxDepth` nested containers on the way gives nil (3.54's limit).
///
/// The bytes after the last value needed are not looked at: SQLite validates the whole
/// document anyway.
public enum DocumentScanner {
    /// Nesting deeper than this (counting the top object as 1) makes `scan` return nil.
    public static let maxDepth = 1000

    /// Reads the values at `paths` from UTF-8 JSON text in one pass (one pass per 64
    /// paths). Returns nil when the answer could differ from SQLite's json_extract.
    public static func scan(_ bytes: UnsafeRawBufferPointer, paths: [JSONPath]) -> [ScannedValue]? {
        guard let base = bytes.baseAddress, let start = objectStart(bytes) else { return nil }
        for path in paths {
            for case .key(let name) in path.steps where hasBackslash(name) { return nil }
        }
        var scanner = Scanner(base: base, end: bytes.count, paths: paths)
        var first = 0
        while first < paths.count {
            let count = min(64, paths.count - first)
            scanner.first = first
            scanner.pos = start
            scanner.unresolved = count == 64 ? ~0 : (1 << UInt64(count)) - 1
            guard scanner.value(scanner.unresolved, depth: 0), scanner.unresolved == 0 else { return nil }
            first += count
        }
        return scanner.results
    }

    /// Whether the first non-whitespace byte is '{' (cheap check used for error messages).
    public static func startsWithObject(_ bytes: UnsafeRawBufferPointer) -> Bool {
        objectStart(bytes) != nil
    }

    private static func hasBackslash(_ name: String) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { $0.contains(Byte.backslash) }
            ?? name.utf8.contains(Byte.backslash)
    }

    private static func objectStart(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case Byte.space, Byte.tab, Byte.newline, Byte.carriageReturn: i += 1
            case Byte.openBrace: return i
            default: return nil
            }
        }
        return nil
    }
}

private enum Byte {
    static let tab: UInt8 = 0x09, newline: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D, space: UInt8 = 0x20
    static let quote: UInt8 = 0x22, plus: UInt8 = 0x2B, comma: UInt8 = 0x2C, minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E, slash: UInt8 = 0x2F, zero: UInt8 = 0x30, nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A, upperE: UInt8 = 0x45, openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C, closeBracket: UInt8 = 0x5D, lowerE: UInt8 = 0x65
    static let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == space || b == newline || b == carriageReturn || b == tab
    }
    /// What may follow a scalar value: whitespace, ',', '}' or ']'.
    @inline(__always) static func endsScalar(_ b: UInt8) -> Bool {
        isSpace(b) || b == comma || b == closeBrace || b == closeBracket
    }
}

/// Exact powers of ten as Doubles (10^22 is the largest one).
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

private struct Scanner {
    let base: UnsafeRawPointer
    let end: Int
    let paths: [JSONPath]
    var results: [ScannedValue]
    /// Bit b of a mask stands for paths[first + b].
    var first = 0
    var pos = 0
    var unresolved: UInt64 = 0

    init(base: UnsafeRawPointer, end: Int, paths: [JSONPath]) {
        self.base = base
        self.end = end
        self.paths = paths
        // Array literals for the usual one to three paths: Array(repeating:count:) looks
        // up the array's generic metadata in the runtime on every call. The element is a
        // run-time value so that the literal is not a constant (copied on first write).
        let missing: ScannedValue = paths.isEmpty ? .null : .missing
        switch paths.count {
        case 1: results = [missing]
        case 2: results = [missing, missing]
        case 3: results = [missing, missing, missing]
        default: results = Array(repeating: missing, count: paths.count)
        }
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    @inline(__always) mutating func skipSpace() {
        while pos < end && Byte.isSpace(byte(pos)) { pos += 1 }
    }

    mutating func resolve(_ mask: UInt64, _ value: ScannedValue) {
        var bits = mask
        while bits != 0 {
            results[first + bits.trailingZeroBitCount] = value
            bits &= bits - 1
        }
        unresolved &= ~mask
    }

    // MARK: Descent

    /// Consumes the value at `pos` for the paths in `mask`, which all matched their
    /// first `depth` steps to reach it. Returns false to give up. When every path is
    /// resolved it returns at once, leaving `pos` wherever it is.
    ///
    /// It follows a single route by looping; it calls itself only where the paths
    /// split into several members of one container, so recursion is at most 64 deep.
    mutating func value(_ mask: UInt64, depth: Int) -> Bool {
        var mask = mask
        var depth = depth
        var open = 0  // containers this call entered and has not left
        descend: while true {
            guard pos < end else { return false }
            var here: UInt64 = 0, byKey: UInt64 = 0, byIndex: UInt64 = 0
            var bits = mask
            while bits != 0 {
                let bit = bits & (~bits &+ 1)
                let steps = paths[first + bits.trailingZeroBitCount].steps
                if steps.count == depth {
                    here |= bit
                } else if case .key = steps[depth] {
                    byKey |= bit
                } else {
                    byIndex |= bit
                }
                bits &= bits - 1
            }
            let c = byte(pos)
            guard c == Byte.openBrace || c == Byte.openBracket else {
                if byKey | byIndex != 0 { resolve(byKey | byIndex, .missing) }
                if here != 0 {
                    guard let scalar = scalar() else { return false }
                    resolve(here, scalar)
                } else {
                    guard skipScalar() else { return false }
                }
                break descend
            }
            let isObject = c == Byte.openBrace
            if here != 0 { resolve(here, .complex) }
            let wanted = isObject ? byKey : byIndex
            let unwanted = isObject ? byIndex : byKey
            if unwanted != 0 { resolve(unwanted, .missing) }
            guard wanted != 0 else {
                if unresolved == 0 { return true }
                guard skipValue(nesting: depth) else { return false }
                break descend
            }
            guard depth < DocumentScanner.maxDepth else { return false }
            let close = isObject ? Byte.closeBrace : Byte.closeBracket
            pos += 1
            open += 1
            skipSpace()
            guard pos < end else { return false }
            var pending = wanted
            if byte(pos) == close {
                pos += 1
                open -= 1
                resolve(pending, .missing)
                break descend
            }
            var index = 0
            var sole: String? = nil
            while true {
                var hit: UInt64 = 0
                if isObject {
                    guard let keyHit = key(pending, depth: depth, sole: &sole) else { return false }
                    hit = keyHit
                    skipSpace()
                    guard pos < end, byte(pos) == Byte.colon else { return false }
                    pos += 1
                    skipSpace()
                } else {
                    var bits = pending
                    while bits != 0 {
                        if case .index(index) = paths[first + bits.trailingZeroBitCount].steps[depth] {
                            hit |= bits & (~bits &+ 1)
                        }
                        bits &= bits - 1
                    }
                }
                if hit != 0 {
                    pending &= ~hit
                    if pending == 0 {
                        // Nothing else is wanted from this container: follow the member.
                        mask = hit
                        depth += 1
                        continue descend
                    }
                    guard value(hit, depth: depth + 1) else { return false }
                    if unresolved == 0 { return true }
                    sole = nil
                } else {
                    guard skipValue(nesting: depth + 1) else { return false }
                }
                skipSpace()
                guard pos < end else { return false }
                let next = byte(pos)
                pos += 1
                if next == Byte.comma {
                    skipSpace()
                    guard pos < end else { return false }
                    index += 1
                } else if next == close {
                    open -= 1
                    resolve(pending, .missing)
                    break descend
                } else {
                    return false
                }
            }
        }
        if unresolved == 0 || open == 0 { return true }
        return skipRest(open, nesting: depth - open)
    }

    /// Reads the member key at `pos` and returns the pending paths whose step `depth`
    /// is that key; nil to give up. Leaves `pos` after the closing quote. `sole` caches
    /// the name while a single path is pending in this object.
    mutating func key(_ pending: UInt64, depth: Int, sole: inout String?) -> UInt64? {
        guard byte(pos) == Byte.quote, let (start, stop, escaped) = stringSpan() else { return nil }
        if escaped {
            // SQLite 3.40 matches keys by raw text, 3.54 by unescaped text: if this key
            // unescapes to a wanted name, the two disagree. (Its raw text, holding a
            // backslash, never equals a name: those were turned away up front.)
            guard let decoded = unescape(start, stop) else { return nil }
            var bits = pending
            while bits != 0 {
                if name(bits.trailingZeroBitCount, depth).utf8.elementsEqual(decoded) { return nil }
                bits &= bits - 1
            }
            return 0
        }
        let raw = UnsafeRawBufferPointer(start: base + start, count: stop - start)
        if pending & (pending &- 1) == 0 {
            if sole == nil { sole = name(pending.trailingZeroBitCount, depth) }
            return equal(sole!, raw) ? pending : 0
        }
        var hit: UInt64 = 0
        var bits = pending
        while bits != 0 {
            if equal(name(bits.trailingZeroBitCount, depth), raw) { hit |= bits & (~bits &+ 1) }
            bits &= bits - 1
        }
        return hit
    }

    /// The key at step `depth` of the path of mask bit `bit` (known to be a key step).
    @inline(__always) func name(_ bit: Int, _ depth: Int) -> String {
        guard case .key(let name) = paths[first + bit].steps[depth] else { return "" }
        return name
    }

    @inline(__always) func equal(_ name: String, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard name.utf8.count == raw.count else { return false }
        var i = 0
        for b in name.utf8 {
            if b != raw[i] { return false }
            i += 1
        }
        return true
    }

    // MARK: Skipping

    /// Skips the string at `pos` (an opening quote): returns its content's bounds and
    /// whether it has escapes, and leaves `pos` after the closing quote; nil when
    /// unterminated.
    @inline(__always) mutating func stringSpan() -> (Int, Int, Bool)? {
        var i = pos + 1
        var escaped = false
        while true {
            // Eight bytes at a time to the next quote or backslash.
            while i + 8 <= end {
                let w = word(i)
                let found = bytes(in: w, equalTo: Byte.quote) | bytes(in: w, equalTo: Byte.backslash)
                if found != 0 {
                    i += found.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < end else { return nil }
            let b = byte(i)
            if b == Byte.quote {
                let start = pos + 1
                pos = i + 1
                return (start, i, escaped)
            }
            if b == Byte.backslash {
                escaped = true
                i += 2
            } else {
                i += 1
            }
        }
    }

    /// Eight bytes from offset `i`, the first in the low byte; needs `i + 8 <= end`.
    @inline(__always) func word(_ i: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    /// Skips the value at `pos`, which sits inside `nesting` containers.
    mutating func skipValue(nesting: Int) -> Bool {
        guard pos < end else { return false }
        switch byte(pos) {
        case Byte.quote:
            return stringSpan() != nil
        case Byte.openBrace, Byte.openBracket:
            guard nesting < DocumentScanner.maxDepth else { return false }
            pos += 1
            return skipRest(1, nesting: nesting)
        default:
            return skipScalar()
        }
    }

    /// Skips to just after the end of the `open` innermost containers, which sit inside
    /// `nesting` others. Outside strings it accepts only bytes that JSON allows there,
    /// so JSON5 comments or single-quoted strings cannot hide brackets from it.
    mutating func skipRest(_ open: Int, nesting: Int) -> Bool {
        var open = open
        while pos < end {
            let b = byte(pos)
            switch b {
            case Byte.quote:
                guard stringSpan() != nil else { return false }
                continue
            case Byte.openBrace, Byte.openBracket:
                open += 1
                guard nesting + open <= DocumentScanner.maxDepth else { return false }
            case Byte.closeBrace, Byte.closeBracket:
                open -= 1
                if open == 0 {
                    pos += 1
                    return true
                }
            case Byte.space, Byte.tab, Byte.newline, Byte.carriageReturn, Byte.comma, Byte.colon,
                 Byte.zero...Byte.nine, Byte.minus, Byte.plus, Byte.dot, Byte.lowerE, Byte.upperE,
                 0x61, 0x66, 0x6C, 0x6E, 0x72, 0x73, 0x74, 0x75:  // a f l n r s t u
                break
            default:
                return false
            }
            pos += 1
        }
        return false
    }

    /// Skips a number or literal at `pos`; checks that a delimiter follows.
    mutating func skipScalar() -> Bool {
        let b = byte(pos)
        if b == Byte.quote { return stringSpan() != nil }
        if b == Byte.minus || Byte.isDigit(b) {
            var i = pos + 1
            while i < end {
                let c = byte(i)
                guard Byte.isDigit(c) || c == Byte.dot || c == Byte.lowerE || c == Byte.upperE
                        || c == Byte.plus || c == Byte.minus else { break }
                i += 1
            }
            guard i < end, Byte.endsScalar(byte(i)) else { return false }
            pos = i
            return true
        }
        return literal() != nil
    }

    // MARK: Scalars

    /// The scalar at `pos`; nil when it is malformed or cannot be answered exactly.
    mutating func scalar() -> ScannedValue? {
        let b = byte(pos)
        if b == Byte.quote {
            guard let (start, stop, escaped) = stringSpan() else { return nil }
            return text(start, stop, escaped: escaped)
        }
        if b == Byte.minus || Byte.isDigit(b) { return number() }
        return literal()
    }

    mutating func literal() -> ScannedValue? {
        let value: ScannedValue
        let word: StaticString
        switch byte(pos) {
        case 0x74: (value, word) = (.bool(true), "true")
        case 0x66: (value, word) = (.bool(false), "false")
        case 0x6E: (value, word) = (.null, "null")
        default: return nil
        }
        let count = word.utf8CodeUnitCount
        guard end - pos > count, Byte.endsScalar(byte(pos + count)) else { return nil }
        let letters = word.utf8Start
        for i in 1..<count where byte(pos + i) != letters[i] { return nil }
        pos += count
        return value
    }

    /// RFC 8259 number. Integers that fit Int64 (including -0) are .integer; others are
    /// .real when exact: a mantissa within 2^53 and a power of ten within 10^22 use
    /// one correctly rounded multiply or divide; up to 19 significant digits use the
    /// standard library's correctly rounded parse (which both SQLite versions match).
    mutating func number() -> ScannedValue? {
        let start = pos
        var i = pos
        let negative = byte(i) == Byte.minus
        if negative { i += 1 }
        let integerStart = i
        guard i < end, Byte.isDigit(byte(i)) else { return nil }
        if byte(i) == Byte.zero {
            i += 1
        } else {
            while i < end && Byte.isDigit(byte(i)) { i += 1 }
        }
        let integerEnd = i
        var fractionDigits = 0
        if i < end && byte(i) == Byte.dot {
            i += 1
            let fractionStart = i
            while i < end && Byte.isDigit(byte(i)) { i += 1 }
            fractionDigits = i - fractionStart
            guard fractionDigits > 0 else { return nil }
        }
        let digitsEnd = i
        var exponent = 0
        var hasExponent = false
        if i < end && byte(i) | 0x20 == Byte.lowerE {
            hasExponent = true
            i += 1
            var exponentNegative = false
            if i < end && (byte(i) == Byte.plus || byte(i) == Byte.minus) {
                exponentNegative = byte(i) == Byte.minus
                i += 1
            }
            guard i < end, Byte.isDigit(byte(i)) else { return nil }
            while i < end && Byte.isDigit(byte(i)) {
                exponent = min(exponent * 10 + Int(byte(i) - Byte.zero), 1_000_000)
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard i < end, Byte.endsScalar(byte(i)) else { return nil }
        pos = i

        if fractionDigits == 0 && !hasExponent && integerEnd - integerStart <= 19 {
            // At most 19 digits: no UInt64 overflow.
            var magnitude: UInt64 = 0
            for j in integerStart..<integerEnd { magnitude = magnitude &* 10 &+ UInt64(byte(j) &- Byte.zero) }
            if !negative && magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
            if negative && magnitude <= UInt64(Int64.max) { return .integer(-Int64(magnitude)) }
            if negative && magnitude == UInt64(Int64.max) + 1 { return .integer(.min) }
        }

        // The digits as significand * 10^power: at most 19 significant digits (longer
        // mantissas are rounded differently by SQLite 3.54), trailing zeros dropped.
        var significand: UInt64 = 0
        var taken = 0                    // digits in significand, from the first nonzero one
        var dropped = 0                  // zeros after 19 digits
        for j in integerStart..<digitsEnd {
            let digit = byte(j) &- Byte.zero
            if digit > 9 || (digit == 0 && taken == 0) { continue }  // the '.', leading zeros
            if taken < 19 {
                significand = significand &* 10 &+ UInt64(digit)
                taken += 1
            } else {
                guard digit == 0 else { return nil }
                dropped += 1
            }
        }
        if taken == 0 { return .real(negative ? -0.0 : 0.0) }
        var power = exponent - fractionDigits + dropped
        while significand % 10 == 0 {
            significand /= 10
            power += 1
        }
        let small = significand <= 1 << 53
        var result: Double
        if small && power >= -22 && power <= 22 {
            // Both operands exact: one correctly rounded operation.
            result = power >= 0 ? Double(significand) * powersOfTen[power]
                                : Double(significand) / powersOfTen[-power]
            if negative { result = -result }
        } else {
            let text = String(decoding: UnsafeRawBufferPointer(start: base + start, count: i - start),
                              as: UTF8.self)
            guard let parsed = Double(text) else { return nil }
            result = parsed
        }
        guard result.isNormal else { return nil }
        return .real(result)
    }

    /// The string with content `start..<stop`; nil for what cannot be answered exactly.
    func text(_ start: Int, _ stop: Int, escaped: Bool) -> ScannedValue? {
        if escaped {
            guard let bytes = unescape(start, stop) else { return nil }
            return bytes.withUnsafeBytes { buffer in
                isValidText(buffer, controls: true) ? .text(String(decoding: buffer, as: UTF8.self)) : nil
            }
        }
        let buffer = UnsafeRawBufferPointer(start: base + start, count: stop - start)
        guard isValidText(buffer, controls: false) else { return nil }
        return .text(String(decoding: buffer, as: UTF8.self))
    }

    /// The unescaped bytes of string content `start..<stop`; nil on an escape outside
    /// RFC 8259, `\u0000`, a lone surrogate or a raw control character.
    func unescape(_ start: Int, _ stop: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(stop - start)
        var i = start
        while i < stop {
            let b = byte(i)
            if b != Byte.backslash {
                guard b >= 0x20 else { return nil }
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < stop else { return nil }
            let e = byte(i + 1)
            i += 2
            switch e {
            case Byte.quote, Byte.backslash, Byte.slash: out.append(e)
            case 0x62: out.append(0x08)  // b
            case 0x66: out.append(0x0C)  // f
            case 0x6E: out.append(0x0A)  // n
            case 0x72: out.append(0x0D)  // r
            case 0x74: out.append(0x09)  // t
            case 0x75:                   // u
                guard var scalar = hex4(i, stop) else { return nil }
                i += 4
                if scalar >= 0xDC00 && scalar <= 0xDFFF { return nil }
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard i + 1 < stop, byte(i) == Byte.backslash, byte(i + 1) == 0x75,
                          let low = hex4(i + 2, stop), low >= 0xDC00 && low <= 0xDFFF else { return nil }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard scalar != 0 else { return nil }
                appendUTF8(scalar, to: &out)
            default:
                return nil
            }
        }
        return out
    }

    func hex4(_ i: Int, _ stop: Int) -> UInt32? {
        guard stop - i >= 4 else { return nil }
        var value: UInt32 = 0
        for j in i..<(i + 4) {
            let b = byte(j)
            let digit: UInt8
            switch b {
            case Byte.zero...Byte.nine: digit = b - Byte.zero
            case 0x41...0x46: digit = b - 0x41 + 10
            case 0x61...0x66: digit = b - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

/// A word whose lowest set bit is the high bit of the first byte of `w` equal to `b`
/// (bits above it may be spurious); zero when there is none.
@inline(__always) private func bytes(in w: UInt64, equalTo b: UInt8) -> UInt64 {
    let x = w ^ (0x0101_0101_0101_0101 &* UInt64(b))
    return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
}

/// Whether all eight bytes of `w` are printable ASCII (0x20...0x7F).
@inline(__always) private func isPrintableASCII(_ w: UInt64) -> Bool {
    (w | ((w &- 0x2020_2020_2020_2020) & ~w)) & 0x8080_8080_8080_8080 == 0
}

private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | scalar >> 6))
        out.append(UInt8(0x80 | scalar & 0x3F))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | scalar >> 12))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    default:
        out.append(UInt8(0xF0 | scalar >> 18))
        out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    }
}

/// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF); unless
/// `controls`, also no raw control characters below U+0020 (SQLite 3.40 rejects them
/// in strings; decoded text may hold them when they were escaped).
private func isValidText(_ buffer: UnsafeRawBufferPointer, controls: Bool) -> Bool {
    var i = 0
    let count = buffer.count
    while i < count {
        if !controls, count - i >= 8,
           isPrintableASCII(UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self))) {
            i += 8
            continue
        }
        let b = buffer[i]
        if b < 0x80 {
            guard b >= 0x20 || controls else { return false }
            i += 1
            continue
        }
        var need: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; upper = 0x9F
        case 0xF0: need = 3; lower = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; upper = 0x8F
        default: return false
        }
        guard count - i > need else { return false }
        let second = buffer[i + 1]
        guard second >= lower && second <= upper else { return false }
        var j = i + 2
        need -= 1
        while need > 0 {
            guard buffer[j] & 0xC0 == 0x80 else { return false }
            j += 1
            need -= 1
        }
        i = j
    }
    return true
}
