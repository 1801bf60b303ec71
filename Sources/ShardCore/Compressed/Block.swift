/// The rows of a compressed shard are kept in blocks: this is a block's layout
/// before compression. Little-endian throughout:
///
///     "SHB1" | count: u32 | count × (id: i64 | ts: i64 | length: u32 | document: length bytes of JSON text)
///
/// Rows are in id order. Decoding checks every length against the buffer, since a
/// block can come from anywhere (`shards_block` is callable from SQL).
public enum Block {
    public static let magic: [UInt8] = Array("SHB1".utf8)

    /// No block is larger than this once decompressed: writers stay under it and
    /// readers refuse a frame that claims more, so a tiny frame cannot make a read
    /// allocate without bound.
    public static let maxBytes = 16 << 20
    /// Writers start a new block once one holds this many bytes or `maxRows` rows.
    public static let targetBytes = 1 << 20
    public static let maxRows = 1000
    /// Bytes a row takes besides its document (id, ts, length), and a block's header.
    public static let rowOverhead = 20
    public static let headerBytes = 8
    /// The largest document a block can hold.
    public static let maxDocumentBytes = maxBytes - headerBytes - rowOverhead

    /// Builds blocks row by row.
    public struct Writer {
        public private(set) var bytes: [UInt8] = Block.magic + [0, 0, 0, 0]
        public private(set) var count: UInt32 = 0

        public init() {}

        /// Whether a block with these rows is complete: enough rows or bytes.
        public var isFull: Bool { count >= Block.maxRows || bytes.count >= Block.targetBytes }

        /// Whether a document of `n` bytes still fits without passing `maxBytes`.
        public func fits(documentBytes n: Int) -> Bool { bytes.count + Block.rowOverhead + n <= Block.maxBytes }

        public mutating func append(id: Int64, ts: Int64, document: UnsafeRawBufferPointer) {
            put(UInt64(bitPattern: id), 8)
            put(UInt64(bitPattern: ts), 8)
            put(UInt64(document.count), 4)
            bytes.append(contentsOf: document)
            count += 1
            for i in 0..<4 { bytes[4 + i] = UInt8(truncatingIfNeeded: count >> (8 * UInt32(i))) }
        }

        private mutating func put(_ v: UInt64, _ n: Int) {
            for i in 0..<n { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
    }

    /// One row, pointing into the block's buffer.
    public struct Row {
        public let id: Int64
        public let ts: Int64
        public let document: UnsafeRawBufferPointer
    }

    /// Walks a block's rows; nil from `next()` at the end, a ShardError when malformed.
    public struct Reader {
        private let buffer: UnsafeRawBufferPointer
        private var offset = 8
        private var remaining: UInt32

        public init(_ buffer: UnsafeRawBufferPointer) throws {
            guard buffer.count >= 8, Array(buffer[0..<4]) == Block.magic else {
                throw ShardError("not a shards block")
            }
            self.buffer = buffer
            remaining = Reader.read(buffer, 4, 4).map { UInt32($0) } ?? 0
        }

        public mutating func next() throws -> Row? {
            guard remaining > 0 else { return nil }
            guard let id = Reader.read(buffer, offset, 8), let ts = Reader.read(buffer, offset + 8, 8),
                  let length = Reader.read(buffer, offset + 16, 4),
                  offset + 20 + Int(length) <= buffer.count else {
                throw ShardError("malformed shards block")
            }
            let start = offset + 20
            offset = start + Int(length)
            remaining -= 1
            return Row(id: Int64(bitPattern: id), ts: Int64(bitPattern: ts),
                       document: UnsafeRawBufferPointer(rebasing: buffer[start..<offset]))
        }

        private static func read(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> UInt64? {
            guard at >= 0, at + n <= b.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            return v
        }
    }
}
