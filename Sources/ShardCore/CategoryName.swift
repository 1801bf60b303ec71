/// Category values become parts of shard keys and table names, so anything that is
/// not plainly safe is hex-encoded; distinct values always give distinct names
/// (up to a 64-bit hash collision for values longer than 24 bytes).
public enum CategoryName {
    public static let null = "~null"
    static let maxPlain = 64
    static let hexPrefix = 48

    public static func encode(_ value: String?) -> String {
        guard let value else { return null }
        let bytes = value.utf8
        if (1...maxPlain).contains(bytes.count),
           bytes.allSatisfy({ ASCII.isWordByte($0) || $0 == UInt8(ascii: "-") }) {
            return value
        }
        let hexCount = bytes.count * 2
        let long = hexCount > maxPlain
        return ByteWriter.string(capacity: 1 + (long ? hexPrefix + 17 : hexCount)) { w in
            w.byte(UInt8(ascii: "~"))
            for b in bytes.prefix(long ? hexPrefix / 2 : bytes.count) {
                w.hex(UInt64(b), digits: 2)
            }
            if long {
                w.byte(UInt8(ascii: "_"))
                w.hex(fnv1a64(bytes), digits: 16)
            }
        }
    }

    /// FNV-1a 64 of a string, as 16 hex digits: short, stable names (path indexes).
    public static func fnv1a64Hex(_ s: String) -> String {
        ByteWriter.string(capacity: 16) { $0.hex(fnv1a64(s.utf8), digits: 16) }
    }

    static func fnv1a64(_ bytes: String.UTF8View) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            hash ^= UInt64(b)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
