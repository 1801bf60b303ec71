import ShardCore
import XCTest

final class NumericAffinityTests: XCTestCase {
    func value(_ text: String) -> String {
        switch NumericAffinity.convert(text) {
        case .integer(let n): return "int \(n)"
        case .real(let d): return "real \(d)"
        case nil: return "text"
        default: return "other"
        }
    }

    /// Each expectation is what SQLite gives for `typeof(x), x` with `x = CAST(? AS NUMERIC)`
    /// compared against an INTEGER column (checked by hand in the sqlite3 shell).
    func testLikeSQLite() {
        let cases: [(String, String)] = [
            ("570", "int 570"), (" 570 ", "int 570"), ("\t+570\n", "int 570"), ("-0", "int 0"), ("007", "int 7"),
            ("9223372036854775807", "int 9223372036854775807"), ("-9223372036854775808", "int -9223372036854775808"),
            ("9223372036854775808", "real 9.223372036854776e+18"),
            ("570.0", "real 570.0"), ("5.", "real 5.0"), (".5", "real 0.5"), ("-.5", "real -0.5"), ("1e1", "real 10.0"),
            ("1E+2", "real 100.0"), ("2.5e-1", "real 0.25"),
            ("", "text"), (" ", "text"), ("x570", "text"), ("570x", "text"), ("5 70", "text"), ("0x10", "text"),
            ("1e", "text"), ("1e+", "text"), (".", "text"), ("-", "text"), ("+.e1", "text"), ("inf", "text"), ("nan", "text"),
        ]
        for (text, want) in cases {
            XCTAssertEqual(value(text), want, text)
        }
    }
}
