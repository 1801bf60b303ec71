/// Paces the upkeep of shards that stopped receiving rows (merges, SPEC 3a; summaries,
/// SPEC 6) across writes: it falls due at the first write of a new period (or a
/// split); then a step runs whenever the rows written since the last step have paid
/// for it: `rowsPerWrite` rows of upkeep for each row written, and at least
/// `writesPerStep` writes between steps. One step moves or reads one table, so no
/// single write statement pays for a large merge; a backlog is worked off while
/// writes go on.
public struct UpkeepPacer: Equatable, Sendable {
    public static let rowsPerWrite: Int64 = 8
    public static let writesPerStep: Int64 = 1

    /// Some upkeep may be left.
    public private(set) var pending = false
    private var credit: Int64 = 0

    public init() {}

    /// Something changed that may leave upkeep: the next write runs a step.
    public mutating func due() {
        pending = true
        credit = max(credit, 0)
    }

    /// One row written; true when a step is paid for.
    @inline(__always) public mutating func wrote() -> Bool {
        credit += 1
        return credit > 0
    }

    /// A step worked on `rows` rows.
    public mutating func spent(rows: Int64) {
        credit = min(credit, 0) - UpkeepPacer.writesPerStep - max(rows, 0) / UpkeepPacer.rowsPerWrite
    }

    /// Nothing is left to do.
    public mutating func done() { pending = false }
}
