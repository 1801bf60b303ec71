/// `retain = '<n> <unit>'`: how much data a collection keeps, measured back from the
/// start of its newest period (the data's own clock, so replays and replicas agree).
public struct Retention: Equatable, Sendable {
    public enum Unit: String, CaseIterable, Sendable { case hours, days, months, years }

    public let count: Int64
    public let unit: Unit

    public init(count: Int64, unit: Unit) {
        self.count = count
        self.unit = unit
    }

    /// Parses "90 days", "36 hours", "1 month", "2 years" (singular or plural).
    public init(parsing text: String) throws {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        let units = Unit.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2, let n = Int64(parts[0]), n >= 1, n <= 100_000,
              let unit = Unit(rawValue: ASCII.lowercased(String(parts[1])))
                ?? Unit(rawValue: ASCII.lowercased(String(parts[1])) + "s") else {
            throw ShardError("shards: bad retain \(Message.quote(text)); valid: '<n> <unit>' with n from 1 to 100000 and unit one of \(units), e.g. '90 days'")
        }
        self.init(count: n, unit: unit)
    }

    /// The time before which whole periods are dropped, when the newest period starts at `start` (ms).
    public func cutoff(newestPeriodStart start: Int64) -> Int64 {
        switch unit {
        case .hours: return start - count * Civil.msPerHour
        case .days: return start - count * Civil.msPerDay
        case .months, .years:
            let days = Civil.floorDiv(start, Civil.msPerDay)
            let timeOfDay = start - days * Civil.msPerDay
            let (y, m, d) = Civil.date(days: days)
            let months = unit == .months ? count : count * 12
            let total = y * 12 + (m - 1) - months
            let year = Civil.floorDiv(total, 12), month = total - year * 12 + 1
            let day = min(d, Civil.daysInMonth(year: year, month: month))
            return Civil.days(year: year, month: month, day: day) * Civil.msPerDay + timeOfDay
        }
    }
}

extension Retention {
    /// The shards to drop when the first shard of `newPeriod` appears: when it is the
    /// newest period, every shard not yet retired whose whole period ended more than
    /// `retain` before its start. None for a period without a start (partition none).
    public func victims(in catalog: Catalog, newPeriod: Period) -> [ShardInfo] {
        guard let start = newPeriod.start,
              !catalog.shards.contains(where: { ($0.period.start ?? .min) > start }) else { return [] }
        // "ended more than <retain> before": strictly earlier than the cutoff.
        return catalog.ended(by: cutoff(newestPeriodStart: start) - 1)
    }
}
