/// What the sketches' states (DistinctSketch, QuantileSketch) are made of on disk:
/// little-endian words, varints, a 64-bit hash of bytes, and the checksum that
/// closes every state. A state can come from anywhere (a BLOB column, a user), so
/// the reader checks every length against the buffer and never traps.
enum SketchCoding {
    /// A 64-bit hash of bytes, the same on every machine (it is stored in states):
    /// 8-byte little-endian words through a bijective mixer, the length folded in.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var h = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = mix(h ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ tail ^ 0xFF00_0000_0000_0000)
        }
        return mix(h)
    }

    /// A bijective 64-bit mixer (splitmix64's finalizer): every input bit changes
    /// about half the output bits, which HyperLogLog's registers need.
    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }

    static let checksumSeed: UInt64 = 0x5348_4152_4453_434B   // "SHARDSCK"
    static let checksumBytes = 4

    /// Builds a state: a header, a body, then the checksum of both.
    struct Writer {
        private(set) var bytes: [UInt8]

        init(magic: [UInt8], version: UInt8, capacity: Int) {
            bytes = []
            bytes.reserveCapacity(capacity + magic.count + 1 + SketchCoding.checksumBytes)
            bytes.append(contentsOf: magic)
            bytes.append(version)
        }

        mutating func byte(_ b: UInt8) { bytes.append(b) }

        mutating func word(_ v: UInt64) {
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }

        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }

        /// A signed value, zigzag-coded so small magnitudes stay short.
        mutating func signedVarint(_ value: Int64) {
            varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }

        /// Appends the checksum and hands the state over.
        mutating func finish() -> [UInt8] {
            let sum = bytes.withUnsafeBytes { SketchCoding.hash($0, seed: SketchCoding.checksumSeed) }
            for i in 0..<SketchCoding.checksumBytes { bytes.append(UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i)))) }
            return bytes
        }
    }

    /// Reads a state's body once its header and checksum were checked (`open`).
    /// Every read returns nil past the end of the body.
    struct Reader {
        private let body: UnsafeRawBufferPointer
        private(set) var offset = 0

        /// The body after `magic` and the version byte, when the bytes are a state of
        /// this kind and their checksum holds. Throws "not a <name>" otherwise, or an
        /// error naming the version when it is one this build does not read.
        init(_ bytes: UnsafeRawBufferPointer, magic: [UInt8], version: UInt8, name: String) throws {
            let head = magic.count + 1
            guard bytes.count >= head + SketchCoding.checksumBytes,
                  magic.indices.allSatisfy({ bytes[$0] == magic[$0] }) else { throw ShardError("not a \(name)") }
            guard bytes[magic.count] == version else {
                throw ShardError("\(name) version \(bytes[magic.count]) is not supported (this build reads version \(version))")
            }
            let end = bytes.count - SketchCoding.checksumBytes
            let sum = SketchCoding.hash(UnsafeRawBufferPointer(rebasing: bytes[..<end]), seed: SketchCoding.checksumSeed)
            var stored: UInt64 = 0
            for i in 0..<SketchCoding.checksumBytes { stored |= UInt64(bytes[end + i]) << (8 * UInt64(i)) }
            guard stored == sum & 0xFFFF_FFFF else { throw ShardError("not a \(name) (checksum mismatch)") }
            body = UnsafeRawBufferPointer(rebasing: bytes[head..<end])
        }

        var atEnd: Bool { offset == body.count }
        var remaining: Int { body.count - offset }

        mutating func byte() -> UInt8? {
            guard offset < body.count else { return nil }
            defer { offset += 1 }
            return body[offset]
        }

        mutating func word() -> UInt64? {
            guard body.count - offset >= 8 else { return nil }
            defer { offset += 8 }
            return UInt64(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func varint() -> UInt64? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while offset < body.count, shift < 64 {
                let b = body[offset]
                offset += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 {
                    // The tenth byte may carry only the top bit.
                    if shift == 63 && b > 1 { return nil }
                    return v
                }
                shift += 7
            }
            return nil
        }

        mutating func signedVarint() -> Int64? {
            guard let z = varint() else { return nil }
            return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
        }

        /// The next `n` bytes, in place.
        mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
            guard n >= 0, body.count - offset >= n else { return nil }
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: body[offset..<(offset + n)])
        }
    }
}

/// Bits after a state's bytes, lowest bit first: Rice codes of sorted gaps (the
/// sparse distinct form), about 2 bits a value tighter than varints.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var word: UInt64 = 0
    private var used: UInt64 = 0

    mutating func bits(_ value: UInt64, _ n: UInt64) {
        guard n > 0 else { return }
        word |= value << used
        if used + n >= 64 {
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) }
            let spill = used + n - 64
            word = spill == 0 ? 0 : value >> (n - spill)
            used = spill
        } else {
            used += n
        }
    }

    /// `n` ones, then a zero.
    mutating func unary(_ n: UInt64) {
        var left = n
        while left >= 32 {
            bits(0xFFFF_FFFF, 32)
            left -= 32
        }
        bits((1 << left) - 1, left + 1)
    }

    /// The quotient by 2^k in unary, then the k low bits.
    mutating func rice(_ value: UInt64, k: UInt64) {
        unary(value >> k)
        bits(value & ((1 << k) - 1), k)
    }

    /// The bytes, the last one padded with zero bits.
    mutating func finish() -> [UInt8] {
        var i: UInt64 = 0
        while i < used {
            bytes.append(UInt8(truncatingIfNeeded: word >> i))
            i += 8
        }
        word = 0
        used = 0
        return bytes
    }
}

/// Reads what BitWriter wrote, through a 64-bit buffer; nil past the end. Away from
/// the end the buffer is refilled by one 8-byte load (Giesen's "lookahead" refill:
/// it takes the whole bytes that fit, and the bits above `held` are then the next
/// byte's own, which the next load puts back in place); in the last 8 bytes, a byte
/// at a time, and the bits above `held` are zero.
struct BitReader {
    private let buffer: UnsafeRawBufferPointer
    private var next = 0          // the next byte to load
    private var word: UInt64 = 0  // loaded bits, lowest first
    private var held: UInt64 = 0  // how many

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// At least 57 bits held, or every bit left. Only with held < 64.
    @inline(__always) private mutating func refill() {
        if next &+ 8 <= buffer.count {
            word |= UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: next, as: UInt64.self)) &<< held
            next &+= Int(truncatingIfNeeded: (63 &- held) &>> 3)
            held |= 56
            return
        }
        while held <= 56 && next < buffer.count {
            word |= UInt64(buffer[next]) << held
            held += 8
            next += 1
        }
    }

    /// The next `n` (at most 56) bits.
    @inline(__always) mutating func bits(_ n: UInt64) -> UInt64? {
        if held < n { refill() }
        guard held >= n else { return nil }
        guard n > 0 else { return 0 }
        let v = word & ((1 << n) - 1)
        word >>= n
        held -= n
        return v
    }

    /// Ones up to the next zero, at most `limit` of them.
    @inline(__always) mutating func unary(limit: UInt64) -> UInt64? {
        var n: UInt64 = 0
        while true {
            if held < 57 { refill() }
            guard held > 0 else { return nil }
            let ones = UInt64((~word).trailingZeroBitCount)
            if ones < held {
                n += ones
                word = ones + 1 == 64 ? 0 : word >> (ones + 1)
                held -= ones + 1
                return n <= limit ? n : nil
            }
            n += held
            word = 0
            held = 0
            if n > limit { return nil }
        }
    }

    @inline(__always) mutating func rice(k: UInt64, limit: UInt64) -> UInt64? {
        guard let q = unary(limit: limit >> k), let low = bits(k) else { return nil }
        return q << k | low
    }

    /// `rice(k:limit:)` then `unary(limit:)`, the pair a sparse distinct entry is made
    /// of: read from the loaded word in a few instructions when both lie whole in it
    /// (nearly always), else by the two calls.
    @inline(__always) mutating func riceThenUnary(k: UInt64, limit: UInt64, unaryLimit: UInt64) -> (UInt64, UInt64)? {
        if held < 57 || next &+ 8 <= buffer.count { refill() }
        // Counts and shifts below stay under 64 + 64 + 26: wrapping arithmetic is exact.
        let q = UInt64((~word).trailingZeroBitCount)
        let low = q &+ 1
        if low &+ k < held {
            let rest = word &>> (low &+ k)
            let ones = UInt64((~rest).trailingZeroBitCount)
            let used = low &+ k &+ ones &+ 1
            if used <= held, q <= limit &>> k, ones <= unaryLimit {
                let value = q &<< k | (word &>> low) & ((1 &<< k) &- 1)
                word = used == 64 ? 0 : word &>> used
                held &-= used
                return (value, ones)
            }
        }
        guard let value = rice(k: k, limit: limit), let ones = unary(limit: unaryLimit) else { return nil }
        return (value, ones)
    }

    /// Whether only the zero bits that pad the last byte are left.
    var atPaddedEnd: Bool { next == buffer.count && held < 8 && word == 0 }
}

/// Logarithms and powers without libc (ShardCore links none): accurate to a few
/// units in the last place, which is all the sketches' bounds need.
enum SketchMath {
    static let ln2 = 0.693_147_180_559_945_309_4

    /// The natural logarithm of a positive, finite, normal value.
    static func ln(_ x: Double) -> Double {
        var e = Double(x.exponent)
        var m = x.significand            // in [1, 2)
        if m > 1.414_213_562_373_095 {   // centre on 1: the series below converges faster
            m *= 0.5
            e += 1
        }
        // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var sum = 1.0 / 25
        var k = 23.0
        while k >= 1 {
            sum = sum * s2 + 1 / k
            k -= 2
        }
        return e * ln2 + 2 * s * sum
    }

    /// base^n by repeated squaring.
    static func power(_ base: Double, _ n: Int) -> Double {
        var result = 1.0
        var b = base
        var k = n.magnitude
        while k > 0 {
            if k & 1 == 1 { result *= b }
            k >>= 1
            if k > 0 { b *= b }
        }
        return n < 0 ? 1 / result : result
    }
}
