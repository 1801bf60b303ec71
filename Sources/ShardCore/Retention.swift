/// `retain = '<n> <unit>'`: how much data a collection keeps, measured back from the
/// start of its newest period (the data's own clock, so replays and replicas agree).
public typealias Retention = UnitCount<RetentionUnit>
public enum RetentionUnit: String, CaseIterable, Sendable { case hours, days, months, years }

extension Retention {
    /// Parses "90 days", "36 hours", "1 month", "2 years" (singular or plural).
    public init(parsing text: String) throws {
        try self.init(parsing: text, unitNamed: { Unit(rawValue: $0) ?? Unit(rawValue: $0 + "s") }) { units in
            ShardError("bad retain \(Message.quote(text)); valid: '<n> <unit>' with n from 1 to 100000 and unit one of \(units), e.g. '90 days'")
        }
    }

    /// Whether a period starting at `start` may count as the newest one, the one
    /// retention measures from: not when it starts after the wall clock's current
    /// period (README, "Safety"), so one mistyped far-future time cannot drop a collection.
    public static func countsAsNewest(periodStart start: Int64, wallClockPeriodStart now: Int64) -> Bool {
        start <= now
    }

    /// The time before which whole periods are dropped, when the newest period starts at `start` (ms).
    /// Saturates at the earliest time rather than overflow.
    public func cutoff(newestPeriodStart start: Int64) -> Int64 {
        switch unit {
        case .hours, .days:
            let (span, o1) = count.multipliedReportingOverflow(by: unit == .hours ? Civil.msPerHour : Civil.msPerDay)
            let (cut, o2) = start.subtractingReportingOverflow(span)
            return o1 || o2 ? .min : cut
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
    /// Periods that start after the wall clock's current one (`now`, the start of the
    /// current period) never count as newest (see `countsAsNewest`).
    public func victims(in catalog: Catalog, newPeriod: Period, wallClockPeriodStart now: Int64 = .max) -> [ShardInfo] {
        func counts(_ start: Int64) -> Bool { Retention.countsAsNewest(periodStart: start, wallClockPeriodStart: now) }
        guard let start = newPeriod.start, counts(start),
              !catalog.shards.contains(where: { s in s.period.start.map { $0 > start && counts($0) } ?? false })
        else { return [] }
        // "ended more than <retain> before": strictly earlier than the cutoff.
        let cut = cutoff(newestPeriodStart: start)
        return cut == .min ? [] : catalog.ended(by: cut - 1)
    }
}
