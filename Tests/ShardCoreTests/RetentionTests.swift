import ShardCore
import XCTest

final class RetentionTests: XCTestCase {
    // Expected values from `date -u -d ... +%s` (ms).
    let apr1: Int64 = 1743465600000   // 2025-04-01T00:00:00Z
    let mar31: Int64 = 1743379200000  // 2025-03-31T00:00:00Z

    func testParsing() throws {
        XCTAssertEqual(try Retention(parsing: "90 days"), Retention(count: 90, unit: .days))
        XCTAssertEqual(try Retention(parsing: "1 hour"), Retention(count: 1, unit: .hours))
        XCTAssertEqual(try Retention(parsing: " 2  YEARS "), Retention(count: 2, unit: .years))
        for bad in ["", "days", "0 days", "-1 days", "1.5 days", "3 weeks", "90days", "1 day ago"] {
            XCTAssertThrowsError(try Retention(parsing: bad), bad)
        }
    }

    func testCutoffs() {
        XCTAssertEqual(Retention(count: 1, unit: .hours).cutoff(newestPeriodStart: apr1), apr1 - 3_600_000)
        XCTAssertEqual(Retention(count: 90, unit: .days).cutoff(newestPeriodStart: apr1), 1735689600000)   // 2025-01-01
        XCTAssertEqual(Retention(count: 2, unit: .months).cutoff(newestPeriodStart: apr1), 1738368000000) // 2025-02-01
        XCTAssertEqual(Retention(count: 4, unit: .months).cutoff(newestPeriodStart: apr1), 1733011200000) // 2024-12-01
        XCTAssertEqual(Retention(count: 1, unit: .years).cutoff(newestPeriodStart: apr1), 1711929600000)  // 2024-04-01
        // Month ends clamp: 2025-03-31 minus one month is 2025-02-28.
        XCTAssertEqual(Retention(count: 1, unit: .months).cutoff(newestPeriodStart: mar31), 1740700800000)
        // 2024-03-31 minus one month is the leap day.
        XCTAssertEqual(Retention(count: 1, unit: .months).cutoff(newestPeriodStart: 1711843200000), 1709164800000)
    }
}
