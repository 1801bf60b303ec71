import XCTest
@testable import ShardCore

// Boundaries from `date -u -d '<time>' +%s`, in ms.
final class PartitionTests: XCTestCase {
    let jan2024: Int64 = 1_704_067_200_000
    let feb2024: Int64 = 1_706_745_600_000
    let feb29of2024: Int64 = 1_709_164_800_000
    let mar2024: Int64 = 1_709_251_200_000
    let dec2024: Int64 = 1_733_011_200_000
    let jan2025: Int64 = 1_735_689_600_000
    let feb2025: Int64 = 1_738_368_000_000
    let jan2026: Int64 = 1_767_225_600_000

    func testLeapDayInMonthAndDay() {
        XCTAssertEqual(Partition.month.period(containing: feb29of2024),
                       Period(start: feb2024, end: mar2024, label: "2024:02"))
        XCTAssertEqual(Partition.day.period(containing: feb29of2024 + 86_399_999),
                       Period(start: feb29of2024, end: mar2024, label: "2024:02:29"))
        XCTAssertEqual(Partition.day.period(containing: mar2024).label, "2024:03:01")
    }

    func testLastMillisecondOfYearVersusFirstOfNext() {
        let last = jan2025 - 1  // 2024-12-31T23:59:59.999Z
        XCTAssertEqual(Partition.year.period(containing: last), Period(start: jan2024, end: jan2025, label: "2024"))
        XCTAssertEqual(Partition.month.period(containing: last), Period(start: dec2024, end: jan2025, label: "2024:12"))
        XCTAssertEqual(Partition.day.period(containing: last),
                       Period(start: jan2025 - 86_400_000, end: jan2025, label: "2024:12:31"))
        XCTAssertEqual(Partition.hour.period(containing: last),
                       Period(start: jan2025 - 3_600_000, end: jan2025, label: "2024:12:31:23"))

        XCTAssertEqual(Partition.year.period(containing: jan2025), Period(start: jan2025, end: jan2026, label: "2025"))
        XCTAssertEqual(Partition.month.period(containing: jan2025), Period(start: jan2025, end: feb2025, label: "2025:01"))
        XCTAssertEqual(Partition.day.period(containing: jan2025),
                       Period(start: jan2025, end: jan2025 + 86_400_000, label: "2025:01:01"))
        XCTAssertEqual(Partition.hour.period(containing: jan2025),
                       Period(start: jan2025, end: jan2025 + 3_600_000, label: "2025:01:01:00"))
    }

    func testHourAndDayInsideAMonth() {
        // 2025-01-15T13:30:00.5Z
        let t: Int64 = 1_736_946_000_000 + 1_800_500
        XCTAssertEqual(Partition.hour.period(containing: t),
                       Period(start: 1_736_946_000_000, end: 1_736_949_600_000, label: "2025:01:15:13"))
        XCTAssertEqual(Partition.day.period(containing: t),
                       Period(start: 1_736_899_200_000, end: 1_736_985_600_000, label: "2025:01:15"))
        XCTAssertEqual(Partition.month.period(containing: t).label, "2025:01")
    }

    func testBeforeEpoch() {
        XCTAssertEqual(Partition.year.period(containing: -1), Period(start: -31_536_000_000, end: 0, label: "1969"))
        XCTAssertEqual(Partition.month.period(containing: -1), Period(start: -2_678_400_000, end: 0, label: "1969:12"))
        XCTAssertEqual(Partition.day.period(containing: -1), Period(start: -86_400_000, end: 0, label: "1969:12:31"))
        XCTAssertEqual(Partition.hour.period(containing: -1), Period(start: -3_600_000, end: 0, label: "1969:12:31:23"))
        XCTAssertEqual(Partition.hour.period(containing: -3_600_000).label, "1969:12:31:23")
        XCTAssertEqual(Partition.hour.period(containing: -3_600_001).label, "1969:12:31:22")
        // 1900 is not a leap year: February ends on the 28th.
        XCTAssertEqual(Partition.month.period(containing: -2_206_310_400_000),
                       Period(start: -2_206_310_400_000, end: -2_203_891_200_000, label: "1900:02"))
    }

    func testEpochStartAndRangeEnds() {
        XCTAssertEqual(Partition.day.period(containing: 0).label, "1970:01:01")
        XCTAssertEqual(Partition.year.period(containing: Time.minimum),
                       Period(start: -62_167_219_200_000, end: -62_135_596_800_000, label: "0000"))
        XCTAssertEqual(Partition.month.period(containing: Time.maximum),
                       Period(start: 253_399_622_400_000, end: 253_402_300_800_000, label: "9999:12"))
    }

    func testNone() {
        XCTAssertEqual(Partition.none.period(containing: jan2025), Period(start: nil, end: nil, label: ""))
        XCTAssertEqual(Partition.none.period(label: ""), Period(start: nil, end: nil, label: ""))
        XCTAssertNil(Partition.none.period(label: "2025"))
        XCTAssertTrue(Partition.none.period(containing: 0).contains(Time.maximum))
    }

    func testContains() {
        let p = Partition.month.period(containing: jan2025)
        XCTAssertTrue(p.contains(jan2025))
        XCTAssertTrue(p.contains(feb2025 - 1))
        XCTAssertFalse(p.contains(feb2025))
        XCTAssertFalse(p.contains(jan2025 - 1))
    }

    func testPeriodFromLabel() {
        XCTAssertEqual(Partition.year.period(label: "2024"), Period(start: jan2024, end: jan2025, label: "2024"))
        XCTAssertEqual(Partition.month.period(label: "2024:02"), Period(start: feb2024, end: mar2024, label: "2024:02"))
        XCTAssertEqual(Partition.month.period(label: "2024:12"), Period(start: dec2024, end: jan2025, label: "2024:12"))
        XCTAssertEqual(Partition.day.period(label: "2024:02:29"),
                       Period(start: feb29of2024, end: mar2024, label: "2024:02:29"))
        XCTAssertEqual(Partition.hour.period(label: "1969:12:31:23"),
                       Period(start: -3_600_000, end: 0, label: "1969:12:31:23"))
        XCTAssertEqual(Partition.year.period(label: "0000")?.start, Time.minimum)
    }

    func testMalformedLabels() {
        let bad: [(Partition, String)] = [
            (.year, ""), (.year, "25"), (.year, "20250"), (.year, "2025:01"), (.year, "-202"), (.year, "２０２５"),
            (.month, "2025"), (.month, "2025:1"), (.month, "2025-01"), (.month, "2025:13"), (.month, "2025:00"),
            (.month, "2025:01:"), (.month, ":01"), (.month, "2025:01:01"),
            (.day, "2025:02:29"), (.day, "2024:02:30"), (.day, "2025:04:31"), (.day, "2025:01:00"), (.day, "2025:01"),
            (.hour, "2025:01:15:24"), (.hour, "2025:01:15"), (.hour, "2025:01:15:1"), (.hour, "2025:01:15:13:00"),
        ]
        for (partition, label) in bad {
            XCTAssertNil(partition.period(label: label), "\(partition) '\(label)'")
        }
    }

    func testLabelRoundTrip() {
        var ms: Int64 = -3_000_000_000_000 + 123_456
        while ms < 3_000_000_000_000 {
            for partition in Partition.allCases {
                let p = partition.period(containing: ms)
                XCTAssertEqual(partition.period(label: p.label), p)
                XCTAssertTrue(p.contains(ms))
            }
            ms += 3_600_000 * 397 + 1
        }
    }
}
