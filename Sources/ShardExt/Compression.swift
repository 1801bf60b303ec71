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
    /// into `buffer`, growing it when needed; returns the bytes written.
    static func decompress(_ input: UnsafeRawBufferPointer, into buffer: inout UnsafeMutableRawBufferPointer) throws -> Int {
        let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN, size <= 1 << 30 else {
            throw ShardError("shards: not a compressed shards block")
        }
        if buffer.count < Int(size) {
            buffer.deallocate()
            buffer = .allocate(byteCount: Int(size), alignment: 8)
        }
        let n = ZSTD_decompress(buffer.baseAddress, Int(size), input.baseAddress, input.count)
        if ZSTD_isError(n) != 0 || n != Int(size) {
            throw ShardError("shards: corrupt compressed block: \(ZSTD_isError(n) != 0 ? String(cString: ZSTD_getErrorName(n)) : "short")")
        }
        return n
    }
}
