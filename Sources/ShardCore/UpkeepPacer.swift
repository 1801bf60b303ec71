/// Paces the upkeep of shards that stopped receiving rows (merges, README "Merging finished shards"; summaries,
/// README "Reads and routing") across writes: it falls due at the first write of a new period (or a
/// split); then each row written pays `rowsPerWrite` rows of upkeep, and a step runs
/// while the account is positive. A step moves or reads one table and costs its rows
/// (at least `minimumStepCost`): small tables go several to a write, a large one
/// makes the writes after it wait. So no single write pays for a large merge, and a
/// backlog is worked off while writes go on.
public struct UpkeepPacer: Equatable, Sendable {
    public static let rowsPerWrite: Int64 = 8
    public static let minimumStepCost: Int64 = 2
    /// A merge step moves the sources of one planned group while they add up to at
    /// most this many rows (the first moves whole, however large): an hour's shards
    /// move into their day in a step or two, a day's full splits one by one.
    public static let stepRows: Int64 = 2_048

    /// Some upkeep may be left.
    public private(set) var pending = false
    private var credit: Int64 = 0

    public init() {}

    /// Something changed that may leave upkeep: the next write runs a step.
    public mutating func due() {
        pending = true
        credit = max(credit, 0)
    }

    /// One row written.
    @inline(__always) public mutating func wrote() {
        credit = min(credit + UpkeepPacer.rowsPerWrite, UpkeepPacer.rowsPerWrite)
    }

    /// `rows` rows written by one statement (a flush of the write buffer): they pay
    /// what as many single writes would, and no more, so the statement's upkeep stays
    /// bounded by its rows.
    public mutating func wrote(rows: Int) {
        let paid = UpkeepPacer.rowsPerWrite * Int64(max(rows, 1))
        credit = min(credit + paid, paid)
    }

    /// Whether the writes so far paid for another step.
    public var mayStep: Bool { pending && credit > 0 }

    /// A step worked on `rows` rows.
    public mutating func spent(rows: Int64) {
        credit -= max(rows, UpkeepPacer.minimumStepCost)
    }

    /// Nothing is left to do.
    public mutating func done() { pending = false }
}
