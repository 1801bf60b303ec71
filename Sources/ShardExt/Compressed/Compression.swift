import CShardShim
import ShardCore

/// zstd, for the blocks of compressed shards: the system's libzstd.so.1, loaded on
/// first use by the C shim (see CShardShim.h), so only compressing and reading
/// compressed shards need it.
enum Compression {
    /// Level 15: blocks are written once and read many times, so ratio matters more
    /// than compression speed; decompression speed is the same at every level.
    static let level: Int32 = 15

    /// The loaded library, or an error saying what is missing and how to get it.
    static func library() throws -> ShardZstd {
        guard let z = shard_zstd() else {
            throw ShardError("compressed shards need the zstd library (libzstd.so.1), which could not be loaded ("
                + String(cString: shard_zstd_error()) + "); install it, e.g. apt-get install libzstd1")
        }
        return z.pointee
    }

    private static func errorName(_ z: ShardZstd, _ code: Int) -> String {
        z.getErrorName(code).map { String(cString: $0) } ?? "error \(code)"
    }

    static func compress(_ input: [UInt8]) throws -> [UInt8] {
        let z = try library()
        var output = [UInt8](repeating: 0, count: z.compressBound(input.count))
        let n = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                z.compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level)
            }
        }
        if z.isError(n) != 0 { throw ShardError("compression failed: \(errorName(z, n))") }
        output.removeSubrange(n...)
        return output
    }

    /// Decompresses a frame whose size it records (every block this extension writes)
    /// into `buffer`, growing it when needed; returns the bytes written. The frame's
    /// recorded size is believed only up to `Block.maxBytes`, and memory comes from
    /// SQLite's allocator, so a heap limit makes this an SQLITE_NOMEM error, not an abort.
    static func decompress(_ input: UnsafeRawBufferPointer, into buffer: inout UnsafeMutableRawBufferPointer) throws -> Int {
        let z = try library()
        let size = z.getFrameContentSize(input.baseAddress, input.count)
        guard size != SHARD_ZSTD_CONTENTSIZE_ERROR, size != SHARD_ZSTD_CONTENTSIZE_UNKNOWN else {
            throw ShardError("not a compressed shards block")
        }
        guard size <= UInt64(Block.maxBytes) else {
            throw ShardError("compressed block claims \(size) bytes; a shards block holds at most \(Block.maxBytes)")
        }
        if buffer.count < Int(size) {
            freeBuffer(&buffer)
            guard let p = sqliteMalloc(max(size, 1)) else {
                throw SQLiteError(code: SQLITE_NOMEM, reason: "out of memory for a compressed block of \(size) bytes")
            }
            buffer = UnsafeMutableRawBufferPointer(start: p, count: Int(size))
        }
        let n = z.decompress(buffer.baseAddress, Int(size), input.baseAddress, input.count)
        if z.isError(n) != 0 || n != Int(size) {
            throw ShardError("corrupt compressed block: \(z.isError(n) != 0 ? errorName(z, n) : "short")")
        }
        return n
    }

    /// Frees a buffer `decompress` allocated.
    static func freeBuffer(_ buffer: inout UnsafeMutableRawBufferPointer) {
        sqliteFree(buffer.baseAddress)
        buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }
}
