/// How a collection's timeline is cut into shard lines: UTC calendar periods.
public enum Partition: String, CaseIterable, Sendable { case none, year, month, day, hour }

/// One period of a partition: `[start, end)` in epoch ms and its key label.
public struct Period: Hashable, Sendable {
    public let start: Int64?
    public let end: Int64?
    /// "2025" / "2025:01" / "2025:01:15" / "2025:01:15:13"; "" for `.none`.
    public let label: String

    public init(start: Int64?, end: Int64?, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }

    /// Whether the time `ms` falls in this period (always true for `.none`).
    public func contains(_ ms: Int64) -> Bool {
        (start.map { ms >= $0 } ?? true) && (end.map { ms < $0 } ?? true)
    }
}

extension Partition {
    /// The period holding `ms`. Expects `ms` in `Time.range`, where labels have 4-digit years.
    public func period(containing ms: Int64) -> Period {
        let days = Civil.floorDiv(ms, Civil.msPerDay)
        let (year, month, day) = Civil.date(days: days)
        let hour = (ms - days * Civil.msPerDay) / Civil.msPerHour
        return period(year: year, month: month, day: day, hour: hour)
    }

    /// The period whose label is `label`; nil when it is not a label of this partition.
    public func period(label: String) -> Period? {
        if self == .none { return label.isEmpty ? Period(start: nil, end: nil, label: "") : nil }
        var fields: [Int64] = []
        for (i, part) in label.utf8.split(separator: 0x3A, omittingEmptySubsequences: false).enumerated() {
            let width = i == 0 ? 4 : 2
            guard part.count == width, part.allSatisfy(ASCII.isDigit) else { return nil }
            fields.append(part.reduce(0) { $0 * 10 + Int64($1 - 0x30) })
        }
        guard fields.count == fieldCount else { return nil }
        let year = fields[0]
        let month = fields.count > 1 ? fields[1] : 1
        let day = fields.count > 2 ? fields[2] : 1
        let hour = fields.count > 3 ? fields[3] : 0
        guard (1...12).contains(month), (1...Civil.daysInMonth(year: year, month: month)).contains(day),
              (0...23).contains(hour) else { return nil }
        return period(year: year, month: month, day: day, hour: hour)
    }

    /// The partition whose labels `label` has the fields of ("2025:01" is a month);
    /// merged tables carry labels of coarser periods than their collection's partition.
    public static func level(ofLabel label: String) -> Partition {
        if label.isEmpty { return .none }
        switch label.utf8.reduce(0, { $0 + ($1 == 0x3A ? 1 : 0) }) {
        case 0: return .year
        case 1: return .month
        case 2: return .day
        default: return .hour
        }
    }

    /// The levels a shard of this partition merges up through once each is finished
    /// (README, "Merging finished shards"): its own period's splits, then hours into their day, days into their month.
    public var mergeLevels: [Partition] {
        switch self {
        case .none: return []
        case .year: return [.year]
        case .month: return [.month]
        case .day: return [.day, .month]
        case .hour: return [.hour, .day, .month]
        }
    }

    /// Label fields: year, month, day, hour.
    private var fieldCount: Int {
        switch self {
        case .none: return 0
        case .year: return 1
        case .month: return 2
        case .day: return 3
        case .hour: return 4
        }
    }

    private func period(year: Int64, month: Int64, day: Int64, hour: Int64) -> Period {
        let start: Int64
        let end: Int64
        switch self {
        case .none:
            return Period(start: nil, end: nil, label: "")
        case .year:
            start = Civil.days(year: year, month: 1, day: 1) * Civil.msPerDay
            end = Civil.days(year: year + 1, month: 1, day: 1) * Civil.msPerDay
        case .month:
            start = Civil.days(year: year, month: month, day: 1) * Civil.msPerDay
            end = (month == 12 ? Civil.days(year: year + 1, month: 1, day: 1)
                               : Civil.days(year: year, month: month + 1, day: 1)) * Civil.msPerDay
        case .day:
            start = Civil.days(year: year, month: month, day: day) * Civil.msPerDay
            end = start + Civil.msPerDay
        case .hour:
            start = Civil.days(year: year, month: month, day: day) * Civil.msPerDay + hour * Civil.msPerHour
            end = start + Civil.msPerHour
        }
        return Period(start: start, end: end, label: label(year: year, month: month, day: day, hour: hour))
    }

    private func label(year: Int64, month: Int64, day: Int64, hour: Int64) -> String {
        let yearWidth = ByteWriter.digitCount(abs(year), width: 4) + (year < 0 ? 1 : 0)
        return ByteWriter.string(capacity: yearWidth + 3 * (fieldCount - 1)) { w in
            if year < 0 { w.byte(UInt8(ascii: "-")) }
            w.digits(abs(year), width: 4)
            if fieldCount > 1 { w.byte(0x3A); w.digits(month, width: 2) }
            if fieldCount > 2 { w.byte(0x3A); w.digits(day, width: 2) }
            if fieldCount > 3 { w.byte(0x3A); w.digits(hour, width: 2) }
        }
    }
}
