public enum TimeUnit: String, Sendable { case ms, s }

/// How a collection reads numbers as times: in `unit`, and whether `time_unit` was
/// given. A number whose magnitude is below 10^11 reads as Unix seconds (as
/// milliseconds it falls between 1966-10 and 1973-03), so unless the unit was given
/// such a number is refused rather than put into 1970: a year of events must never
/// land there silently. A given unit says the numbers are what they say.
public struct NumericTimes: Equatable, Sendable {
    public var unit: TimeUnit
    public var unitGiven: Bool

    public init(unit: TimeUnit = .ms, unitGiven: Bool = false) {
        self.unit = unit
        self.unitGiven = unitGiven
    }

    /// Numbers of smaller magnitude read as Unix seconds.
    public static let secondsLikeBelow: Int64 = 100_000_000_000

    @inline(__always) static func readsAsSeconds(_ n: Int64) -> Bool {
        n > -secondsLikeBelow && n < secondsLikeBelow
    }

    @inline(__always) static func readsAsSeconds(_ d: Double) -> Bool {
        d.magnitude < Double(secondsLikeBelow)
    }

    /// Epoch ms of a document's numeric time, read at `path` in the collection's unit.
    @inline(__always) public func document(_ n: Int64, at path: JSONPath) throws -> Int64 {
        if !unitGiven && NumericTimes.readsAsSeconds(n) { throw secondsLikeInDocument(String(n), Double(n), path) }
        return try Time.milliseconds(fromInteger: n, unit: unit)
    }

    @inline(__always) public func document(_ d: Double, at path: JSONPath) throws -> Int64 {
        if !unitGiven && NumericTimes.readsAsSeconds(d) { throw secondsLikeInDocument(String(d), d, path) }
        return try Time.milliseconds(fromNumber: d, unit: unit)
    }

    /// Epoch ms of a number given in SQL as milliseconds (an INSERT's own `ts`, the
    /// time of shard_key): always ms, whatever `time_unit` says of documents. Small
    /// values need `time_unit = ms`.
    public func milliseconds(_ n: Int64, what: String) throws -> Int64 {
        if !(unitGiven && unit == .ms) && NumericTimes.readsAsSeconds(n) { throw secondsLikeInSQL(String(n), Double(n), what) }
        return try Time.milliseconds(fromInteger: n, unit: .ms)
    }

    public func milliseconds(_ d: Double, what: String) throws -> Int64 {
        if !(unitGiven && unit == .ms) && NumericTimes.readsAsSeconds(d) { throw secondsLikeInSQL(String(d), d, what) }
        return try Time.milliseconds(fromNumber: d, unit: .ms)
    }

    /// "as milliseconds it is 1970-01-21T02:28:55.200Z, as seconds 2025-01-15T10:00:00.000Z"
    static func readings(_ value: Double) -> String {
        let asMs = (try? Time.milliseconds(fromNumber: value, unit: .ms)).map(Time.format) ?? "out of range"
        let asSeconds = (try? Time.milliseconds(fromNumber: value, unit: .s)).map(Time.format) ?? "out of range"
        return "as milliseconds it is \(asMs), as seconds \(asSeconds)"
    }

    private func secondsLikeInDocument(_ spelled: String, _ value: Double, _ path: JSONPath) -> ShardError {
        ShardError("time \(spelled) at \(path.text) reads as Unix seconds: \(NumericTimes.readings(value)); "
            + "add time_unit = s to the collection if its times are seconds "
            + "(time_unit = ms if they are milliseconds this close to 1970)")
    }

    private func secondsLikeInSQL(_ spelled: String, _ value: Double, _ what: String) -> ShardError {
        ShardError("\(what) \(spelled) reads as Unix seconds: \(NumericTimes.readings(value)); "
            + "\(what) is in milliseconds: give " + (value == 0 ? "" : "\(Int64((value * 1000).rounded(.down))) or ") + "a time string "
            + "(time_unit = s applies to documents' times at the time path; "
            + "time_unit = ms allows milliseconds this close to 1970)")
    }
}

/// Document times as Unix epoch milliseconds, limited to years 0000-9999 so that
/// every time has a 4-digit-year period label and a string form.
public enum Time {
    /// 0000-01-01T00:00:00.000Z
    public static let minimum: Int64 = -62_167_219_200_000
    /// 9999-12-31T23:59:59.999Z
    public static let maximum: Int64 = 253_402_300_799_999
    public static let range: ClosedRange<Int64> = minimum...maximum

    /// Epoch ms of an ISO-8601 / SQLite time string.
    public static func parse(_ text: String) throws -> Int64 {
        try TimeParser.parse(text)
    }

    /// Returns `ms` when it is in `range`, else throws (e.g. for an explicit `ts`).
    public static func checked(_ ms: Int64) throws -> Int64 {
        guard range.contains(ms) else { throw outOfRange(String(ms), unit: .ms) }
        return ms
    }

    /// Epoch ms from a JSON number in `unit`; fractions of a millisecond are floored.
    public static func milliseconds(fromNumber value: Double, unit: TimeUnit) throws -> Int64 {
        guard value.isFinite else {
            throw ShardError("time \(value) is not a finite number")
        }
        var ms = unit == .s ? value * 1000 : value
        // 1.001 s is 1000.9999999999999 ms after the multiplication: a value within
        // a few units of last place of a whole ms is that ms, not the one below.
        let whole = ms.rounded()
        if abs(ms - whole) <= 4 * max(whole.ulp, ms.ulp) { ms = whole }
        ms.round(.down)
        guard ms >= Double(minimum), ms <= Double(maximum) else {
            throw outOfRange(String(value), unit: unit)
        }
        return Int64(ms)
    }

    public static func milliseconds(fromInteger value: Int64, unit: TimeUnit) throws -> Int64 {
        let (ms, overflow) = unit == .s ? value.multipliedReportingOverflow(by: 1000) : (value, false)
        guard !overflow, range.contains(ms) else { throw outOfRange(String(value), unit: unit) }
        return ms
    }

    /// UTC rendering with milliseconds: `2025-01-31T23:59:59.250Z`.
    public static func format(_ ms: Int64) -> String {
        let days = Civil.floorDiv(ms, Civil.msPerDay)
        let msOfDay = ms - days * Civil.msPerDay
        let (year, month, day) = Civil.date(days: days)
        let yearWidth = ByteWriter.digitCount(abs(year), width: 4) + (year < 0 ? 1 : 0)
        return ByteWriter.string(capacity: yearWidth + 20) { w in
            if year < 0 { w.byte(UInt8(ascii: "-")) }
            w.digits(abs(year), width: 4)
            w.byte(UInt8(ascii: "-"))
            w.digits(month, width: 2)
            w.byte(UInt8(ascii: "-"))
            w.digits(day, width: 2)
            w.byte(UInt8(ascii: "T"))
            w.digits(msOfDay / Civil.msPerHour, width: 2)
            w.byte(UInt8(ascii: ":"))
            w.digits(msOfDay / Civil.msPerMinute % 60, width: 2)
            w.byte(UInt8(ascii: ":"))
            w.digits(msOfDay / Civil.msPerSecond % 60, width: 2)
            w.byte(UInt8(ascii: "."))
            w.digits(msOfDay % 1000, width: 3)
            w.byte(UInt8(ascii: "Z"))
        }
    }

    static let rangeText = "0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"

    private static func outOfRange(_ value: String, unit: TimeUnit) -> ShardError {
        let limits = unit == .s
            ? "-62167219200 to 253402300799.999 s"
            : "\(minimum) to \(maximum) ms"
        return ShardError("time \(value) \(unit.rawValue) is out of range; "
            + "valid: \(rangeText) (\(limits))")
    }
}
