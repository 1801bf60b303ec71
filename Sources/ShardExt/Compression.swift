import CShardShim
import CZstd
import ShardCore

/// zstd, for the blocks of compressed shards.
enum Compression {
    /// Level 15: blocks are written once and read many times, so ratio matters more
    /// than compression speed; decompression speed is the same at every level.
    static let level: Int32 = 15

    static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level)
            }
        }
        if ZSTD_isError(n) != 0 { throw ShardError("shards: compression failed: \(String(cString: ZSTD_getErrorName(n)))") }
        output.removeSubrange(n...)
        return output
    }

    /// Decompresses a frame whose size it records (every block this extension writes)
    /// into `buffer`, growing it when needed; returns the bytes written. The frame's
    /// recorded size is believed only up to `Block.maxBytes`, and memory comes from
    /// SQLite's allocator, so a heap limit makes this an SQLITE_NOMEM error, not an abort.
    static func decompress(_ input: UnsafeRawBufferPointer, into buffer: inout UnsafeMutableRawBufferPointer) throws -> Int {
        let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN else {
            throw ShardError("shards: not a compressed shards block")
        }
        guard size <= UInt64(Block.maxBytes) else {
            throw ShardError("shards: compressed block claims \(size) bytes; a shards block holds at most \(Block.maxBytes)")
        }
        if buffer.count < Int(size) {
            freeBuffer(&buffer)
            guard let p = api.pointee.malloc64(max(size, 1)) else {
                throw SQLiteError(code: SQLITE_NOMEM, message: "shards: out of memory for a compressed block of \(size) bytes")
            }
            buffer = UnsafeMutableRawBufferPointer(start: p, count: Int(size))
        }
        let n = ZSTD_decompress(buffer.baseAddress, Int(size), input.baseAddress, input.count)
        if ZSTD_isError(n) != 0 || n != Int(size) {
            throw ShardError("shards: corrupt compressed block: \(ZSTD_isError(n) != 0 ? String(cString: ZSTD_getErrorName(n)) : "short")")
        }
        return n
    }

    /// Frees a buffer `decompress` allocated.
    static func freeBuffer(_ buffer: inout UnsafeMutableRawBufferPointer) {
        api.pointee.free(buffer.baseAddress)
        buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }
}
