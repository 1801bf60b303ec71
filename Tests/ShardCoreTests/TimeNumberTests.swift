import XCTest
@testable import ShardCore

final class TimeNumberTests: XCTestCase {
    func testMillisecondsFromIntegers() throws {
        XCTAssertEqual(try Time.milliseconds(fromInteger: 1_738_367_999_250, unit: .ms), 1_738_367_999_250)
        XCTAssertEqual(try Time.milliseconds(fromInteger: 1_738_367_999, unit: .s), 1_738_367_999_000)
        XCTAssertEqual(try Time.milliseconds(fromInteger: -3600, unit: .s), -3_600_000)
        XCTAssertEqual(try Time.milliseconds(fromInteger: -62_167_219_200_000, unit: .ms), -62_167_219_200_000)
        XCTAssertEqual(try Time.milliseconds(fromInteger: 253_402_300_799_999, unit: .ms), 253_402_300_799_999)
        XCTAssertEqual(try Time.milliseconds(fromInteger: 253_402_300_799, unit: .s), 253_402_300_799_000)
    }

    func testIntegersOutOfRange() {
        assertShardError(try Time.milliseconds(fromInteger: 253_402_300_800_000, unit: .ms),
                         "time 253402300800000 ms is out of range", "9999-12-31T23:59:59.999Z")
        assertShardError(try Time.milliseconds(fromInteger: -62_167_219_200_001, unit: .ms), "out of range")
        assertShardError(try Time.milliseconds(fromInteger: 253_402_300_800, unit: .s), "time 253402300800 s")
        assertShardError(try Time.milliseconds(fromInteger: .max, unit: .s), "out of range")
        assertShardError(try Time.milliseconds(fromInteger: .min, unit: .s), "out of range")
    }

    func testMillisecondsFromNumbers() throws {
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_738_367_999_250, unit: .ms), 1_738_367_999_250)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_738_367_999_250.9, unit: .ms), 1_738_367_999_250)
        XCTAssertEqual(try Time.milliseconds(fromNumber: -1.5, unit: .ms), -2)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_738_367_999, unit: .s), 1_738_367_999_000)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_738_367_999.25, unit: .s), 1_738_367_999_250)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_738_367_999.001, unit: .s), 1_738_367_999_001)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1.5, unit: .s), 1500)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 0.0005, unit: .s), 0)
        XCTAssertEqual(try Time.milliseconds(fromNumber: -0.0005, unit: .s), -1)
        XCTAssertEqual(try Time.milliseconds(fromNumber: -1.5, unit: .s), -1500)
    }

    func testDecimalSecondsDoNotLoseAMillisecond() throws {
        // 1.001 * 1000 is 1000.9999999999999 in binary floating point.
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1.001, unit: .s), 1001)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 0.001, unit: .s), 1)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1.005, unit: .s), 1005)
        XCTAssertEqual(try Time.milliseconds(fromNumber: 1_700_000_000.123, unit: .s), 1_700_000_000_123)
    }

    func testNumbersOutOfRange() {
        assertShardError(try Time.milliseconds(fromNumber: .nan, unit: .ms), "not a finite number")
        assertShardError(try Time.milliseconds(fromNumber: .infinity, unit: .s), "not a finite number")
        assertShardError(try Time.milliseconds(fromNumber: 1e300, unit: .ms), "out of range")
        assertShardError(try Time.milliseconds(fromNumber: 253_402_300_800, unit: .s), "out of range", "s)")
        assertShardError(try Time.milliseconds(fromNumber: -62_167_219_200_000.5, unit: .ms), "out of range")
        XCTAssertEqual(try Time.milliseconds(fromNumber: 253_402_300_799_999.5, unit: .ms), 253_402_300_799_999)
    }

    func testChecked() throws {
        XCTAssertEqual(try Time.checked(0), 0)
        assertShardError(try Time.checked(Time.maximum + 1), "out of range")
    }

    func testFormat() {
        XCTAssertEqual(Time.format(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(Time.format(1_738_367_999_250), "2025-01-31T23:59:59.250Z")
        XCTAssertEqual(Time.format(-1), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(Time.format(-299_589_904_000 + 7), "1960-07-04T12:34:56.007Z")
        XCTAssertEqual(Time.format(1_709_164_800_000), "2024-02-29T00:00:00.000Z")
        XCTAssertEqual(Time.format(-62_167_219_200_000), "0000-01-01T00:00:00.000Z")
        XCTAssertEqual(Time.format(253_402_300_799_999), "9999-12-31T23:59:59.999Z")
    }

    func testFormatParseRoundTrip() throws {
        let samples: [Int64] = [
            0, -1, 1, 1_735_689_599_999, 1_735_689_600_000, 1_709_164_800_000, 951_825_600_123,
            -2_203_891_200_001, -62_167_219_200_000, 253_402_300_799_999, 1_751_278_830_042,
        ]
        for ms in samples {
            XCTAssertEqual(try Time.parse(Time.format(ms)), ms, "\(ms)")
        }
        // Every day over several leap cycles, at an odd time of day, before and after 1970.
        var ms: Int64 = -4_000_000_000_000 + 45_296_789
        while ms < 4_000_000_000_000 {
            XCTAssertEqual(try Time.parse(Time.format(ms)), ms)
            ms += 86_400_000 + 3_600_001
        }
    }
}
