/// Fills a string's storage in place, so labels and keys cost one allocation
/// (none when they fit Swift's small-string storage of 15 bytes).
struct ByteWriter {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    mutating func byte(_ b: UInt8) {
        buffer[count] = b
        count += 1
    }

    mutating func text(_ s: String) {
        for b in s.utf8 { byte(b) }
    }

    /// Decimal digits of a non-negative value, zero-padded to `width`.
    mutating func digits(_ value: Int64, width: Int) {
        let n = ByteWriter.digitCount(value, width: width)
        var v = value
        for i in stride(from: count + n - 1, through: count, by: -1) {
            buffer[i] = 0x30 + UInt8(v % 10)
            v /= 10
        }
        count += n
    }

    /// Lowercase hex of the low `digits` nibbles of `value`.
    mutating func hex(_ value: UInt64, digits: Int) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            byte(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
        }
    }

    /// How many bytes `digits(value, width:)` writes.
    static func digitCount(_ value: Int64, width: Int) -> Int {
        var n = 1
        var v = value / 10
        while v > 0 { n += 1; v /= 10 }
        return max(n, width)
    }

    /// Builds a string of exactly `capacity` bytes or fewer.
    static func string(capacity: Int, _ fill: (inout ByteWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var writer = ByteWriter(buffer)
            fill(&writer)
            return writer.count
        }
    }
}
