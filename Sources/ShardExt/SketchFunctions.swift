import CShardShim
import ShardCore

/// The aggregate functions over the rollups' sketch states (ShardCore's
/// DistinctSketch and QuantileSketch):
///
/// | function | from | returns |
/// |---|---|---|
/// | `shards_distinct(state)` | distinct states | INTEGER, the estimate of the merged states |
/// | `shards_quantile(state, q)` | quantile states | REAL, the q quantile of the merged states |
/// | `shards_distinct_state(value)` | raw values | BLOB, a distinct state |
/// | `shards_quantile_state(value)` | raw values | BLOB, a quantile state |
/// | `shards_distinct_merge(state)` | distinct states | BLOB, the merged state |
/// | `shards_quantile_merge(state)` | quantile states | BLOB, the merged state |
///
/// NULLs are skipped; a state argument that is not one is an error. Each group's
/// sketch lives in a Swift object whose pointer is kept in SQLite's aggregate
/// context. SQLite calls xFinal for every context xStep made, also when the
/// statement fails or stops early, so xFinal is where the object is released.
private final class SketchAccumulator {
    var distinct = DistinctSketch()
    var quantile = QuantileSketch()
    /// shards_quantile's q, from its first row; every row must give the same.
    var q: Double?
}

private struct AggregateSpec {
    let name: String
    let argc: Int32
    let step: (SketchAccumulator, ValueArray) throws -> Void
    let final: (OpaquePointer?, SketchAccumulator) throws -> Void
}

private let aggregates: [AggregateSpec] = [
    AggregateSpec(name: "shards_distinct", argc: 1, step: mergeDistinct) { ctx, acc in
        resultInt64(ctx, acc.distinct.estimate)
    },
    AggregateSpec(name: "shards_quantile", argc: 2, step: { acc, argv in
        try mergeQuantile(acc, argv)
        try takeQ(acc, argv[1])
    }) { ctx, acc in
        if let q = acc.q, let v = try acc.quantile.quantile(q) {
            api.pointee.result_double(ctx, v)
        } else {
            resultNull(ctx)
        }
    },
    AggregateSpec(name: "shards_distinct_state", argc: 1, step: addDistinct) { ctx, acc in
        resultBlob(ctx, acc.distinct.serialized())
    },
    AggregateSpec(name: "shards_quantile_state", argc: 1, step: addQuantile) { ctx, acc in
        resultBlob(ctx, acc.quantile.serialized())
    },
    AggregateSpec(name: "shards_distinct_merge", argc: 1, step: mergeDistinct) { ctx, acc in
        resultBlob(ctx, acc.distinct.serialized())
    },
    AggregateSpec(name: "shards_quantile_merge", argc: 1, step: mergeQuantile) { ctx, acc in
        resultBlob(ctx, acc.quantile.serialized())
    },
]

/// A value counts as SQL's DISTINCT tells values apart: 1 and 1.0 are one value,
/// the text '1' another (DistinctSketch.hash).
private func addDistinct(_ acc: SketchAccumulator, _ argv: ValueArray) throws {
    let v = argv[0]
    switch valueType(v) {
    case SQLITE_INTEGER: acc.distinct.add(hash: DistinctSketch.hash(int64: valueInt64(v)))
    case SQLITE_FLOAT: acc.distinct.add(hash: DistinctSketch.hash(double: valueDouble(v)))
    case SQLITE_TEXT: acc.distinct.add(hash: DistinctSketch.hash(of: valueTextBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
    case SQLITE_BLOB: acc.distinct.add(hash: DistinctSketch.hash(blob: valueBlobBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
    default: break
    }
}

/// Numbers only: NULL, text and blobs are skipped (a document whose duration is
/// "n/a" does not spoil a percentile), and so are ±infinity.
private func addQuantile(_ acc: SketchAccumulator, _ argv: ValueArray) throws {
    let v = argv[0]
    switch valueType(v) {
    case SQLITE_INTEGER, SQLITE_FLOAT: acc.quantile.add(valueDouble(v))
    default: break
    }
}

private func stateBytes(_ v: OpaquePointer?, kind: String) throws -> UnsafeRawBufferPointer? {
    switch valueType(v) {
    case SQLITE_NULL: return nil
    case SQLITE_BLOB: return valueBlobBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)
    default: throw ShardError("not a shards \(kind) state (a state is a BLOB)")
    }
}

private func mergeDistinct(_ acc: SketchAccumulator, _ argv: ValueArray) throws {
    guard let bytes = try stateBytes(argv[0], kind: "distinct") else { return }
    try acc.distinct.merge(serialized: bytes)
}

private func mergeQuantile(_ acc: SketchAccumulator, _ argv: ValueArray) throws {
    guard let bytes = try stateBytes(argv[0], kind: "quantile") else { return }
    acc.quantile.merge(try QuantileSketch(serialized: bytes))
}

/// q is a number from 0 to 1, the same on every row (as SQLite's percentile() asks).
private func takeQ(_ acc: SketchAccumulator, _ v: OpaquePointer?) throws {
    let type = valueType(v)
    let q = valueDouble(v)
    guard type == SQLITE_INTEGER || type == SQLITE_FLOAT, q >= 0, q <= 1 else {
        throw ShardError("the quantile must be a number from 0 to 1")
    }
    if let first = acc.q, first != q { throw ShardError("the quantile must be the same on every row") }
    acc.q = q
}

private func resultBlob(_ ctx: OpaquePointer?, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { api.pointee.result_blob(ctx, $0.baseAddress, Int32($0.count), shard_transient()) }
}

/// The accumulator of this group: made at its first row, nil before when `create`
/// is false (an aggregate over no rows). Nil with `create` means out of memory.
private func accumulator(_ ctx: OpaquePointer?, create: Bool) -> SketchAccumulator? {
    let size = create ? Int32(MemoryLayout<UnsafeMutableRawPointer?>.size) : 0
    guard let raw = api.pointee.aggregate_context(ctx, size) else { return nil }
    let slot = raw.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    if let p = slot.pointee { return object(p, as: SketchAccumulator.self) }
    guard create else { return nil }
    let acc = SketchAccumulator()
    slot.pointee = retainedPointer(acc)
    return acc
}

/// Hands the group's accumulator over and clears its slot (xFinal).
private func takeAccumulator(_ ctx: OpaquePointer?) -> SketchAccumulator? {
    guard let raw = api.pointee.aggregate_context(ctx, 0) else { return nil }
    let slot = raw.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    guard let p = slot.pointee else { return nil }
    slot.pointee = nil
    return Unmanaged<SketchAccumulator>.fromOpaque(p).takeRetainedValue()
}

private final class AggregateIndex {
    let index: Int
    init(_ index: Int) { self.index = index }
}

@inline(__always) private func spec(_ ctx: OpaquePointer?) -> AggregateSpec {
    aggregates[object(api.pointee.user_data(ctx), as: AggregateIndex.self).index]
}

/// Registers the sketch aggregates: deterministic and innocuous, so views,
/// triggers and generated columns may use them.
func registerSketchFunctions(_ db: Database) throws {
    let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
    for (i, a) in aggregates.enumerated() {
        let rc = api.pointee.create_function_v2(
            db.handle, a.name, a.argc, flags, retainedPointer(AggregateIndex(i)), nil,
            { ctx, _, argv in
                let a = spec(ctx)
                guard let acc = accumulator(ctx, create: true) else {
                    api.pointee.result_error_nomem(ctx)
                    return
                }
                guarded(ctx) {
                    do { try a.step(acc, argv!) } catch let e as ShardError { throw e.within(a.name) }
                }
            },
            { ctx in
                let a = spec(ctx)
                let acc = takeAccumulator(ctx) ?? SketchAccumulator()
                guarded(ctx) {
                    do { try a.final(ctx, acc) } catch let e as ShardError { throw e.within(a.name) }
                }
            },
            { releasePointer($0) })
        if rc != SQLITE_OK { throw db.error(rc) }
    }
}
