/// A long IN list handed to every shard statement as one value: a JSON array that the
/// shard's SQL reads back with `IN (SELECT value FROM json_each(+?n))`.
///
/// Binding each value as its own parameter stops at SQLite's variable limit (32,766
/// from 3.32 on; the host can lower it), so a list above `threshold` values goes as
/// one text instead. json_each gives back an integer as the same integer, a real as
/// the same double (the shortest text that reads back as it, which SQLite's parser
/// reads exactly), a string as the same text. What JSON cannot carry exactly, text
/// holding a NUL byte or bytes that are not UTF-8, makes `add` return false (the
/// caller binds the values one by one then). Blobs and NULLs are left out: the
/// columns an IN list tests (id, ts, a json_extract) never hold a blob, and NULL
/// makes no row match.
public struct InListJSON {
    /// Lists up to this long keep one parameter per value, as SQLite's own IN lists
    /// do (json_each parses the array again in every shard visited: 10-30% slower for
    /// a few hundred values); longer ones are one JSON value. A quarter of the host's
    /// variable limit at most, so that a few lists and the rest of the scan still fit.
    public static func threshold(variableLimit: Int) -> Int { min(1000, variableLimit / 4) }

    public enum Item {
        case integer(Int64)
        case real(Double)
        case text(UnsafeRawBufferPointer)
        /// NULL or a blob: matches no row.
        case never
    }

    private var out: [UInt8] = [UInt8(ascii: "[")]

    public init() {}

    /// Adds one value; false when it cannot be carried exactly (the list is then unusable).
    public mutating func add(_ item: Item) -> Bool {
        let start = out.count
        if out.count > 1 { out.append(UInt8(ascii: ",")) }
        switch item {
        case .integer(let i):
            out += String(i).utf8
        case .real(let d):
            // An infinity as a number out of range, which SQLite reads as one; NaN never
            // comes from SQLite (it is NULL there).
            if d.isNaN { out.removeSubrange(start...) }
            else if d.isInfinite { out += (d < 0 ? "-9e999" : "9e999").utf8 }
            else { out += String(d).utf8 }
        case .text(let bytes):
            return Self.appendString(bytes, to: &out)
        case .never:
            out.removeSubrange(start...)
        }
        return true
    }

    /// The JSON array of the values added.
    public var text: String { String(decoding: out + [UInt8(ascii: "]")], as: UTF8.self) }

    /// The JSON array of `items`, or nil when one of them cannot be carried exactly.
    public static func encode<S: Sequence>(_ items: S) -> String? where S.Element == Item {
        var list = InListJSON()
        for item in items { guard list.add(item) else { return nil } }
        return list.text
    }

    /// A JSON string of `bytes`; false for a NUL byte or bytes that are not UTF-8.
    private static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        guard isUTF8(bytes) else { return false }
        out.append(UInt8(ascii: "\""))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case 0: return false
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            case 1..<0x20, 0x7F:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            default:
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// Well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
    static func isUTF8(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let n: Int, lo: UInt8, hi: UInt8
            switch c {
            case 0xC2...0xDF: (n, lo, hi) = (1, 0x80, 0xBF)
            case 0xE0: (n, lo, hi) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (n, lo, hi) = (2, 0x80, 0xBF)
            case 0xED: (n, lo, hi) = (2, 0x80, 0x9F)
            case 0xF0: (n, lo, hi) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (n, lo, hi) = (3, 0x80, 0xBF)
            case 0xF4: (n, lo, hi) = (3, 0x80, 0x8F)
            default: return false
            }
            guard i + n < b.count, (lo...hi).contains(b[i + 1]) else { return false }
            for k in stride(from: 2, through: n, by: 1) where !(0x80...0xBF).contains(b[i + k]) { return false }
            i += n + 1
        }
        return true
    }
}
