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
        // By hand, without splitting: every catalog row's label is read at each
        // connection's first use, thousands for an hourly collection.
        var fields: (Int64, Int64, Int64, Int64) = (0, 1, 1, 0)
        var count = 0, digits = 0
        var value: Int64 = 0
        func close() -> Bool {
            guard digits == (count == 0 ? 4 : 2), count < 4 else { return false }
            switch count {
            case 0: fields.0 = value
            case 1: fields.1 = value
            case 2: fields.2 = value
            default: fields.3 = value
            }
            count += 1
            value = 0
            digits = 0
            return true
        }
        for b in label.utf8 {
            if b == 0x3A {
                guard close() else { return nil }
            } else {
                guard ASCII.isDigit(b) else { return nil }
                value = value * 10 + Int64(b - 0x30)
                digits += 1
            }
        }
        guard close(), count == fieldCount else { return nil }
        let (year, month, day, hour) = fields
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
