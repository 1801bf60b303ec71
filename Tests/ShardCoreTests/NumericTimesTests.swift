import XCTest
@testable import ShardCore

/// Numbers that read as Unix seconds (SPEC 2): refused unless time_unit was given.
final class NumericTimesTests: XCTestCase {
    let path = try! JSONPath(parsing: "$.ts")
    let unset = NumericTimes()
    let seconds = NumericTimes(unit: .s, unitGiven: true)
    let millis = NumericTimes(unit: .ms, unitGiven: true)

    func testDocumentNumbersBelowTheLimitNeedAUnit() throws {
        assertShardError(try unset.document(Int64(1_736_935_200), at: path), message:
            "shards: time 1736935200 at $.ts reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, "
            + "as seconds 2025-01-15T10:00:00.000Z; add time_unit = s to the collection if its times are seconds "
            + "(time_unit = ms if they are milliseconds this close to 1970)")
        assertShardError(try unset.document(Double(1_736_935_200.25), at: path), "time 1736935200.25 at $.ts", "as seconds 2025-01-15T10:00:00.250Z")
        assertShardError(try unset.document(Int64(99_999_999_999), at: path), "reads as Unix seconds")
        assertShardError(try unset.document(Int64(-99_999_999_999), at: path), "reads as Unix seconds")
        assertShardError(try unset.document(Int64(0), at: path), "reads as Unix seconds")
        // A reading out of range says so.
        assertShardError(try unset.document(Int64(-99_999_999_999), at: path), "as seconds out of range")
        XCTAssertEqual(try unset.document(Int64(100_000_000_000), at: path), 100_000_000_000)
        XCTAssertEqual(try unset.document(Int64(-100_000_000_000), at: path), -100_000_000_000)
        XCTAssertEqual(try unset.document(Int64(1_736_935_200_000), at: path), 1_736_935_200_000)
        XCTAssertEqual(try unset.document(Double(1_736_935_200_000.5), at: path), 1_736_935_200_000)
    }

    func testAGivenUnitTakesNumbersAsTheyAre() throws {
        XCTAssertEqual(try seconds.document(Int64(1_736_935_200), at: path), 1_736_935_200_000)
        XCTAssertEqual(try seconds.document(Double(1.001), at: path), 1001)
        XCTAssertEqual(try millis.document(Int64(1_736_935_200), at: path), 1_736_935_200)
        XCTAssertEqual(try millis.document(Int64(-1), at: path), -1)
        assertShardError(try seconds.document(Int64(253_402_300_800), at: path), "out of range")
    }

    func testMillisecondsGivenInSQL() throws {
        assertShardError(try unset.milliseconds(Int64(1_736_935_200), what: "ts"), message:
            "shards: ts 1736935200 reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, "
            + "as seconds 2025-01-15T10:00:00.000Z; ts is in milliseconds: give 1736935200000 or a time string "
            + "(time_unit = s applies to documents' times at the time path; time_unit = ms allows milliseconds this close to 1970)")
        assertShardError(try unset.milliseconds(Int64(0), what: "ts"), "give a time string")
        // ts is milliseconds whatever documents' unit: time_unit = s does not make it seconds.
        assertShardError(try seconds.milliseconds(Int64(1_736_935_200), what: "the time"), "the time 1736935200 reads as Unix seconds")
        XCTAssertEqual(try seconds.milliseconds(Int64(1_736_935_200_000), what: "ts"), 1_736_935_200_000)
        XCTAssertEqual(try millis.milliseconds(Int64(5), what: "ts"), 5)
        XCTAssertEqual(try millis.milliseconds(Double(5.5), what: "ts"), 5)
    }

    func testOptions() throws {
        XCTAssertEqual(try CollectionOptions.parse(arguments: []).numericTimes, NumericTimes(unit: .ms, unitGiven: false))
        XCTAssertEqual(try CollectionOptions.parse(arguments: ["time = '$.t'", "time_unit = s"]).numericTimes, seconds)
        XCTAssertEqual(try CollectionOptions.parse(arguments: ["time = '$.t'", "time_unit = MS"]).numericTimes, millis)
        // Without time, ms may be given (for an INSERT's own ts); s may not.
        XCTAssertEqual(try CollectionOptions.parse(arguments: ["time_unit = ms"]).numericTimes, millis)
        assertShardError(try CollectionOptions.parse(arguments: ["time_unit = s"]),
                         "option time_unit = s is given without time", "an INSERT's own ts is always milliseconds")
    }
}
