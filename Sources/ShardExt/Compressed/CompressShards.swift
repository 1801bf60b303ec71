import CShardShim
import ShardCore

// shard_compress: finished shards rewritten into zstd blocks (ARCHITECTURE.md,
// "Compressed shards"). Each shard's rows, in id order, are cut into blocks
// (`Block.Writer`) with a filter of their indexed values (`BlockFilter.Builder`);
// each block is one row of the shard's block table (`ShardSchema.createBlocks`),
// and the shard's own table goes.
extension ShardedCollection {
    /// shard_compress: rewrites the shards whose whole period ends at or before
    /// `before` into zstd-compressed blocks (`Block.maxRows` documents or `Block.targetBytes`), in one
    /// transaction; returns the rows compressed. Each block keeps its id and ts
    /// ranges, so reads skip the blocks that cannot match.
    func compressShards(endingBy before: Int64) throws -> Int64 {
        try lifecycle("shards_compress") { () -> Int64 in
            let victims = catalog.liveEnded(by: before)
            guard !victims.isEmpty else { return 0 }
            statements.forget(shards: victims.map(\.number))
            var total: Int64 = 0
            for s in victims { total += try compress(s) }
            try catalog.change(victims, to: .compressed)
            return total
        }
    }

    private func compress(_ s: ShardInfo) throws -> Int64 {
        try db.exec(ShardSchema.createBlocks(schema: schema, blocks: s.blocksTable))
        let write = try db.prepare(ShardSchema.insertBlock(schema: schema, blocks: s.blocksTable))
        let paths = indexedPaths.map(\.text)
        var block = Block.Writer()
        var keys = BlockFilter.Builder(paths: paths)
        var firstId: Int64 = 0, lastId: Int64 = 0, minTs = Int64.max, maxTs = Int64.min
        var total: Int64 = 0
        func emit() throws {
            write.bind(1, firstId)
            write.bind(2, lastId)
            write.bind(3, minTs)
            write.bind(4, maxTs)
            write.bind(5, Int64(block.count))
            write.bind(6, blob: keys.build())
            write.bind(7, blob: try Compression.compress(block.bytes))
            _ = try write.step()
            write.reset()
            block = Block.Writer()
            keys = BlockFilter.Builder(paths: paths)
            minTs = .max
            maxTs = .min
        }
        do {
            // Documents as JSON text: what a read of `doc` returns, so results stay identical.
            // Then each indexed path's value, for the block's filter.
            let extracts = paths.map { ", json_extract(doc, \(SQLText.literal($0)))" }.joined()
            let read = try db.prepare("SELECT id, ts, \(columns.expression(.doc, reading: true))\(extracts) FROM \(qualified(s.tableName)) ORDER BY id")
            while try read.step() {
                let id = read.int64(0), ts = read.int64(1)
                let text = read.textBytes(2)
                guard text.count <= Block.maxDocumentBytes else {
                    throw ShardError("document \(id) of shard \(s.keyText) is too large to compress (\(text.count) bytes; a compressed block holds documents of at most \(Block.maxDocumentBytes) bytes)")
                }
                if block.count > 0 && !block.fits(documentBytes: text.count) { try emit() }
                if block.count == 0 { firstId = id }
                block.append(id: id, ts: ts, document: text)
                for k in paths.indices {
                    if let v = filterValue(read.value(Int32(3 + k))) { keys.add(pathIndex: k, v) }
                }
                lastId = id
                minTs = min(minTs, ts)
                maxTs = max(maxTs, ts)
                total += 1
                if block.isFull { try emit() }
            }
        }
        if block.count > 0 { try emit() }
        try db.exec(ShardSchema.createBlockRanges(schema: schema, blocks: s.blocksTable))
        // SQLite drops a table only while no other statement runs on the connection.
        do {
            try db.exec(ShardSchema.drop(schema: schema, table: s.tableName))
        } catch let e as SQLiteError where e.code == SQLITE_LOCKED {
            throw ShardError("shard_compress must run as a statement of its own (SELECT shard_compress(...)); SQLite cannot drop a table while another statement runs")
        }
        return total
    }
}
