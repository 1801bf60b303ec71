import XCTest
@testable import ShardCore

// Expected epochs come from `date -u -d '<time>' +%s` (times 1000 plus the fraction).
final class TimeParseTests: XCTestCase {
    func testDateOnlyIsMidnightUTC() throws {
        XCTAssertEqual(try Time.parse("2025-01-01"), 1_735_689_600_000)
        XCTAssertEqual(try Time.parse("1970-01-01"), 0)
        XCTAssertEqual(try Time.parse("2024-02-29"), 1_709_164_800_000)
    }

    func testSeparators() throws {
        let expected: Int64 = 1_738_367_999_000  // 2025-01-31T23:59:59Z
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59Z"), expected)
        XCTAssertEqual(try Time.parse("2025-01-31t23:59:59z"), expected)
        XCTAssertEqual(try Time.parse("2025-01-31 23:59:59"), expected)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59"), expected)
        XCTAssertEqual(try Time.parse("2025-01-31 23:59:59 Z"), expected)
    }

    func testMinutesOnly() throws {
        XCTAssertEqual(try Time.parse("2025-01-15T13:00"), 1_736_946_000_000)
        XCTAssertEqual(try Time.parse("2025-01-15 13:00Z"), 1_736_946_000_000)
    }

    func testFractionTruncatedToMilliseconds() throws {
        let base: Int64 = 1_738_367_999_000
        XCTAssertEqual(try Time.parse("2025-01-31 23:59:59.250"), base + 250)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59.2Z"), base + 200)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59.25Z"), base + 250)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59.999999999Z"), base + 999)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59.0009"), base)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59.000"), base)
    }

    func testOffsets() throws {
        // 2025-01-31T23:59:59Z expressed in other zones.
        let utc: Int64 = 1_738_367_999_000
        XCTAssertEqual(try Time.parse("2025-02-01T04:59:59+05:00"), utc)
        XCTAssertEqual(try Time.parse("2025-02-01T04:59:59+0500"), utc)
        XCTAssertEqual(try Time.parse("2025-02-01T04:59:59+05"), utc)
        XCTAssertEqual(try Time.parse("2025-02-01T04:59:59 +05:00"), utc)
        XCTAssertEqual(try Time.parse("2025-01-31T21:29:59-02:30"), utc)
        XCTAssertEqual(try Time.parse("2025-01-31T21:29:59-0230"), utc)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59+00:00"), utc)
        XCTAssertEqual(try Time.parse("2025-01-31T23:59:59-00:00"), utc)
        XCTAssertEqual(try Time.parse("2025-02-01T04:59:59.250+05:00"), utc + 250)
        // +14:00 is the largest offset in use (Kiribati).
        XCTAssertEqual(try Time.parse("2025-01-01T14:00+14:00"), 1_735_689_600_000)
    }

    func testBeforeEpoch() throws {
        XCTAssertEqual(try Time.parse("1969-12-31T23:00:00Z"), -3_600_000)
        XCTAssertEqual(try Time.parse("1960-07-04 12:34:56.789"), -299_589_904_000 + 789)
        XCTAssertEqual(try Time.parse("1900-03-01"), -2_203_891_200_000)
    }

    func testRangeEnds() throws {
        XCTAssertEqual(try Time.parse("0000-01-01"), -62_167_219_200_000)
        XCTAssertEqual(try Time.parse("0000-03-01"), -62_162_035_200_000)  // year 0 is a leap year
        XCTAssertEqual(try Time.parse("9999-12-31T23:59:59.999Z"), 253_402_300_799_999)
        assertShardError(try Time.parse("0000-01-01T00:00+01:00"), "before 0000-01-01")
        assertShardError(try Time.parse("9999-12-31T23:59-01:00"), "after 9999-12-31")
    }

    func testLeapYears() throws {
        XCTAssertEqual(try Time.parse("2000-02-29T12:00:00Z"), 951_825_600_000)
        assertShardError(try Time.parse("1900-02-29"), "'1900-02-29'", "day 29 is not 01-28 in 1900-02")
        assertShardError(try Time.parse("2025-02-29"), "'2025-02-29'", "day 29 is not 01-28 in 2025-02")
        assertShardError(try Time.parse("2024-02-30"), "'2024-02-30'", "day 30 is not 01-29 in 2024-02")
    }

    func testOutOfRangeFields() {
        assertShardError(try Time.parse("2025-13-01"), message: "shards: bad time '2025-13-01': month 13 is not 01-12")
        assertShardError(try Time.parse("2025-00-10"), "month 00")
        assertShardError(try Time.parse("2025-04-31"), "day 31 is not 01-30")
        assertShardError(try Time.parse("2025-01-00"), "day 00")
        assertShardError(try Time.parse("2025-01-01T24:00"), message: "shards: bad time '2025-01-01T24:00': hour 24 is not 00-23")
        assertShardError(try Time.parse("2025-01-01T10:60"), "minute 60")
        assertShardError(try Time.parse("2025-01-01T10:00:60"), "second 60")
        assertShardError(try Time.parse("2025-01-01T10:00+15:00"), "hours 15")
        assertShardError(try Time.parse("2025-01-01T10:00+01:60"), "minutes 60")
    }

    func testMalformed() {
        let bad = [
            "yesterday", "", " ", "2025-1-1", "2025-01-1", "25-01-01", "2025/01/01", "20250101",
            "2025-01-01 ", " 2025-01-01", "2025-01-01x", "2025-01-01T", "2025-01-01T10",
            "2025-01-01T10:0", "2025-01-01T1:00", "2025-01-01T10:00:5", "2025-01-01T10:00:00.",
            "2025-01-01T10:00.5", "2025-01-01T10:00:00Zjunk", "2025-01-01T10:00:00 ", "2025-01-01T10:00:00  Z",
            "2025-01-01T10:00+1", "2025-01-01T10:00+01:0", "2025-01-01T10:00+01:", "2025-01-01T10:00+",
            "2025-01-01T10:00 +01:00 ", "2025-01-01T10:00UTC", "2025-01-01T10:00:00.5.5", "2025-01-01Z",
            "2025-01-01  10:00", "-2025-01-01", "+2025-01-01", "2025-01-01T10:00:00,5", "１２３４-01-01",
        ]
        for text in bad {
            assertShardError(try Time.parse(text), "bad time '\(text)'", "expected YYYY-MM-DD")
        }
    }
}
