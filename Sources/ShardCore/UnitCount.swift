/// A span written `'<n> <unit>'`: a collection's `retain` (`Retention`) and a rollup's
/// `bucket` (`RollupBucket`), each a `UnitCount` of its own units, with what it means
/// in an extension of its own. One reader of that text serves both.
public struct UnitCount<Unit: RawRepresentable & CaseIterable & Hashable & Sendable>: Equatable, Sendable
where Unit.RawValue == String {
    public let count: Int64
    public let unit: Unit

    public init(count: Int64, unit: Unit) {
        self.count = count
        self.unit = unit
    }

    /// Reads `<n> <unit>`, n a whole number from 1 to 100000 (`digitsOnly`: written
    /// with digits alone, no sign), or with `countOptional` the unit alone (n is 1).
    /// `unitNamed` finds the unit a lowercased word names; any other text throws
    /// `bad(<the units' names, comma-separated>)`.
    init(parsing text: String, countOptional: Bool = false, digitsOnly: Bool = false,
         unitNamed: (String) -> Unit?, bad: (String) -> ShardError) throws {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        let units = Unit.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2 || (countOptional && parts.count == 1),
              let unit = unitNamed(ASCII.lowercased(String(parts[parts.count - 1]))) else { throw bad(units) }
        var n: Int64 = 1
        if parts.count == 2 {
            guard !digitsOnly || parts[0].utf8.allSatisfy(ASCII.isDigit), let v = Int64(parts[0]),
                  (1...100_000).contains(v) else { throw bad(units) }
            n = v
        }
        self.init(count: n, unit: unit)
    }
}
