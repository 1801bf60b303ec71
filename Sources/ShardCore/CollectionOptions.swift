/// The options of a collection, from the module arguments of its CREATE VIRTUAL TABLE.
public struct CollectionOptions: Equatable, Sendable {
    public var partition: Partition = .month
    public var timePath: JSONPath? = nil { didSet { placementPaths = Self.placementPaths(timePath, categoryPath) } }
    public var timeUnit: TimeUnit = .ms
    /// `time_unit` was given: numbers below 10^11 are taken as they are (see `NumericTimes`).
    public var timeUnitGiven = false
    public var categoryPath: JSONPath? = nil { didSet { placementPaths = Self.placementPaths(timePath, categoryPath) } }
    /// What a document's placement is read from, in this order: the time path, then the
    /// category path (`DocumentScanner` reads them at every insert, so they are kept).
    public private(set) var placementPaths: [JSONPath] = []
    public var maxRows: Int64 = 100_000
    public var indexes: [IndexSpec] = []
    /// Inserted documents a connection may hold in memory before writing them (0: none).
    public var buffer: Int64 = 0
    /// The most a buffered document waits, in ms, checked on every call.
    public var flushMs: Int64 = 1000
    /// Whole periods older than this (before the newest period's start) are dropped.
    public var retain: Retention? = nil
    /// `merge = auto`: finished shards are merged at writes (README, "Merging finished shards"); `none`: only by shard_merge.
    public var autoMerge = true
    /// The most rows a merged table takes.
    public var mergeRows: Int64 = 1_000_000
    /// How documents are stored; see `Storage`.
    public var storage: Storage = .auto

    public static let maxRowsLimit: Int64 = 1_000_000_000_000
    public static let bufferLimit: Int64 = 1_000_000
    public static let flushMsLimit: Int64 = 86_400_000

    public init() {}

    /// How numbers are read as times.
    public var numericTimes: NumericTimes { NumericTimes(unit: timeUnit, unitGiven: timeUnitGiven) }

    private static func placementPaths(_ time: JSONPath?, _ category: JSONPath?) -> [JSONPath] {
        [time, category].compactMap { $0 }
    }

    private enum Key: String, CaseIterable {
        case partition, time
        case timeUnit = "time_unit"
        case category
        case maxRows = "max_rows"
        case index
        case buffer
        case flushMs = "flush_ms"
        case retain
        case merge
        case mergeRows = "merge_rows"
        case storage
    }

    /// Reads `key = value` arguments; every mistake is an error naming the option.
    public static func parse(arguments: [String]) throws -> CollectionOptions {
        var options = CollectionOptions()
        try OptionArgument.read(arguments, repeatable: [Key.index], repeatableNames: "index") { key, value in
            try options.apply(key, value)
        }
        if options.retain != nil && options.partition == .none {
            throw ShardError("option retain needs periods to drop; give partition = year, month, day or hour")
        }
        // Without `time`, the only numeric time is the INSERT's own ts, a column in ms.
        if options.timeUnit == .s && options.timePath == nil {
            throw ShardError("option time_unit = s is given without time; it says how documents' times "
                + "at time = '$.path' are read, and an INSERT's own ts is always milliseconds; "
                + "add time = '$.path' or drop time_unit (time_unit = ms allows small ms values of ts)")
        }
        return options
    }

    private mutating func apply(_ key: Key, _ value: String) throws {
        switch key {
        case .partition:
            guard let p = Partition(rawValue: ASCII.lowercased(value)) else {
                throw ShardError("bad partition \(Message.quote(value)); valid: "
                    + Partition.allCases.map(\.rawValue).joined(separator: ", "))
            }
            partition = p
        case .time:
            timePath = try JSONPath.field(value, context: "option time")
        case .timeUnit:
            guard let unit = TimeUnit(rawValue: ASCII.lowercased(value)) else {
                throw ShardError("bad time_unit \(Message.quote(value)); valid: ms, s")
            }
            timeUnit = unit
            timeUnitGiven = true
        case .category:
            categoryPath = try JSONPath.field(value, context: "option category")
        case .maxRows:
            maxRows = try CollectionOptions.maxRows(value)
        case .index:
            try addIndex(IndexSpec(parsing: value))
        case .buffer:
            buffer = try CollectionOptions.integer(value, option: "buffer", in: 0...CollectionOptions.bufferLimit)
        case .flushMs:
            flushMs = try CollectionOptions.integer(value, option: "flush_ms", in: 0...CollectionOptions.flushMsLimit)
        case .retain:
            retain = try Retention(parsing: value)
        case .merge:
            switch ASCII.lowercased(value) {
            case "auto": autoMerge = true
            case "none": autoMerge = false
            default: throw ShardError("bad merge \(Message.quote(value)); valid: auto, none")
            }
        case .mergeRows:
            mergeRows = try CollectionOptions.integer(value, option: "merge_rows", in: 2...CollectionOptions.maxRowsLimit)
        case .storage:
            guard let s = Storage(rawValue: ASCII.lowercased(value)) else {
                throw ShardError("bad storage \(Message.quote(value)); valid: "
                    + Storage.allCases.map(\.rawValue).joined(separator: ", "))
            }
            storage = s
        }
    }

    private static func maxRows(_ value: String) throws -> Int64 {
        try integer(value, option: "max_rows", in: 1...maxRowsLimit)
    }

    /// A plain decimal integer (no sign, no spaces) within `range`.
    private static func integer(_ value: String, option: String, in range: ClosedRange<Int64>) throws -> Int64 {
        let bytes = value.utf8
        guard (1...13).contains(bytes.count), bytes.allSatisfy(ASCII.isDigit),
              case let n = bytes.reduce(Int64(0), { $0 * 10 + Int64($1 - 0x30) }),
              range.contains(n) else {
            throw ShardError("bad \(option) \(Message.quote(value)); "
                + "valid: an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    private mutating func addIndex(_ spec: IndexSpec) throws {
        let name = ASCII.lowercased(spec.name)
        if let other = indexes.first(where: { ASCII.lowercased($0.name) == name }) {
            throw ShardError("index column '\(other.name)' is defined twice; "
                + "give each index its own name")
        }
        if let other = indexes.first(where: { $0.path == spec.path }) {
            throw ShardError("path '\(spec.path.text)' is indexed twice "
                + "(as '\(other.name)' and '\(spec.name)'); keep one")
        }
        indexes.append(spec)
    }
}

/// The `storage` option: documents as JSONB (SQLite 3.45+, smaller and faster to
/// read) or as JSON text (readable by any SQLite host). `auto` takes JSONB when the
/// SQLite creating the collection has it. The choice is recorded in the collection.
public enum Storage: String, CaseIterable, Sendable {
    case auto, jsonb, text

    public static let jsonbVersionNumber: Int32 = 3_045_000

    /// Whether a collection created now stores JSONB, on the SQLite of `versionNumber`.
    public func storesJSONB(versionNumber: Int32, version: String) throws -> Bool {
        switch self {
        case .auto: return versionNumber >= Storage.jsonbVersionNumber
        case .text: return false
        case .jsonb:
            guard versionNumber >= Storage.jsonbVersionNumber else {
                throw ShardError("storage = jsonb needs SQLite 3.45.0 or newer; this SQLite is \(version); "
                    + "use storage = text (or auto)")
            }
            return true
        }
    }
}
