import XCTest
@testable import ShardCore

/// Expected values were checked against json_extract in SQLite 3.40 and 3.54.
final class DocumentScannerTests: XCTestCase {
    private func paths(_ texts: [String]) -> [JSONPath] {
        texts.map { try! JSONPath(parsing: $0) }
    }

    private func scan(_ json: String, _ texts: String...) -> [ScannedValue]? {
        scan(bytes: Array(json.utf8), texts)
    }

    private func scan(bytes: [UInt8], _ texts: [String]) -> [ScannedValue]? {
        let parsed = paths(texts)
        return bytes.withUnsafeBytes { DocumentScanner.scan($0, paths: parsed) }
    }

    /// The single value at `path`, or nil when the scanner gives up.
    private func value(_ json: String, _ path: String = "$.a") -> ScannedValue? {
        scan(json, path)?.first
    }

    // MARK: Kinds

    func testEveryKind() {
        let doc = #"{"n":null,"t":true,"f":false,"i":42,"m":-17,"r":1.5,"s":"hi","e":"","o":{"x":1},"a":[1,2]}"#
        XCTAssertEqual(scan(doc, "$.n", "$.t", "$.f", "$.i", "$.m", "$.r", "$.s", "$.e", "$.o", "$.a", "$.zz"),
                       [.null, .bool(true), .bool(false), .integer(42), .integer(-17), .real(1.5),
                        .text("hi"), .text(""), .complex, .complex, .missing])
    }

    func testRootAndEmptyContainers() {
        XCTAssertEqual(value(#"{"a":1}"#, "$"), .complex)
        XCTAssertEqual(value("{}", "$"), .complex)
        XCTAssertEqual(value("{}", "$.a"), .missing)
        XCTAssertEqual(value("{}", "$[0]"), .missing)
        XCTAssertEqual(value(#"{"a":{}}"#), .complex)
        XCTAssertEqual(value(#"{"a":[]}"#), .complex)
        XCTAssertEqual(value(#"{"a":[]}"#, "$.a[0]"), .missing)
        XCTAssertEqual(value(#"{"a":{}}"#, "$.a.b"), .missing)
        XCTAssertEqual(scan("{}", "$", "$.a", "$[0]"), [.complex, .missing, .missing])
        XCTAssertEqual(scan("{}"), [])
    }

    func testMissingPaths() {
        let doc = #"{"i":5,"s":"str","o":{"0":1,"k":null},"a":[10,20,30],"n":null}"#
        XCTAssertEqual(scan(doc, "$.nope", "$.i.x", "$.i[0]", "$.s[0]", "$.s.x", "$.o[0]", "$.o.z",
                            "$.a[3]", "$.a.x", "$.a[2].x", "$.n.x", "$.n[0]", "$.o.k.x"),
                       Array(repeating: .missing, count: 13))
        XCTAssertEqual(scan(doc, "$.a[0]", "$.a[2]", "$.o.k", "$.o.0"), [.integer(10), .integer(30), .null, .integer(1)])
    }

    // MARK: Numbers

    func testIntegers() {
        XCTAssertEqual(value(#"{"a":0}"#), .integer(0))
        XCTAssertEqual(value(#"{"a":-0}"#), .integer(0))
        XCTAssertEqual(value(#"{"a":7}"#), .integer(7))
        XCTAssertEqual(value(#"{"a":1700000000}"#), .integer(1_700_000_000))
        XCTAssertEqual(value(#"{"a":9223372036854775807}"#), .integer(.max))
        XCTAssertEqual(value(#"{"a":-9223372036854775808}"#), .integer(.min))
        XCTAssertEqual(value(#"{"a":-1234567890123456789}"#), .integer(-1_234_567_890_123_456_789))
        XCTAssertEqual(value(#"{"a":1000000000000000000}"#), .integer(1_000_000_000_000_000_000))
    }

    func testIntegersBeyondInt64AreReals() {
        XCTAssertEqual(value(#"{"a":9223372036854775808}"#), .real(9223372036854775808.0))
        XCTAssertEqual(value(#"{"a":-9223372036854775809}"#), .real(-9223372036854775809.0))
        XCTAssertEqual(value(#"{"a":9999999999999999999}"#), .real(1e19))
        XCTAssertEqual(value(#"{"a":10000000000000000000000000}"#), .real(1e25))
        // Trailing zeros do not count as significant digits.
        XCTAssertEqual(value(#"{"a":12345678901234567890}"#), .real(12345678901234567890.0))
        // More than 19 significant digits: SQLite 3.54 rounds differently from 3.40.
        XCTAssertNil(value(#"{"a":12345678901234567891}"#))
        XCTAssertNil(value(#"{"a":123456789012345678901234567890}"#))
    }

    func testReals() {
        XCTAssertEqual(value(#"{"a":1.0}"#), .real(1.0))
        XCTAssertEqual(value(#"{"a":1e3}"#), .real(1000.0))
        XCTAssertEqual(value(#"{"a":1E+3}"#), .real(1000.0))
        XCTAssertEqual(value(#"{"a":25e-2}"#), .real(0.25))
        XCTAssertEqual(value(#"{"a":1.5E-2}"#), .real(0.015))
        XCTAssertEqual(value(#"{"a":0.1}"#), .real(0.1))
        XCTAssertEqual(value(#"{"a":-2.5}"#), .real(-2.5))
        XCTAssertEqual(value(#"{"a":1700000000.123}"#), .real(1700000000.123))
        XCTAssertEqual(value(#"{"a":1718000000.1234567}"#), .real(1718000000.1234567))
        XCTAssertEqual(value(#"{"a":1700000000123.456}"#), .real(1700000000123.456))
        XCTAssertEqual(value(#"{"a":0.30000000000000004}"#), .real(0.30000000000000004))
        XCTAssertEqual(value(#"{"a":1.5e308}"#), .real(1.5e308))
        XCTAssertEqual(value(#"{"a":1.7976931348623157e308}"#), .real(1.7976931348623157e308))
        XCTAssertEqual(value(#"{"a":2.2250738585072014e-308}"#), .real(2.2250738585072014e-308))
        XCTAssertEqual(value(#"{"a":1e-300}"#), .real(1e-300))
        XCTAssertEqual(value(#"{"a":0.000001234e-5}"#), .real(1.234e-11))
        XCTAssertEqual(value(#"{"a":1234567890123456789.0e-30}"#), .real(1.2345678901234569e-12))
        XCTAssertEqual(value(#"{"a":100000000000000000000000000000.5e-29}"#), nil)  // 31 digits
        XCTAssertEqual(value(#"{"a":1.50000000000000000000000000000}"#), .real(1.5))
        XCTAssertEqual(value(#"{"a":0.000000000000000000000000000000000000000001}"#), .real(1e-42))
    }

    func testSignedZeros() {
        guard case .real(let z)? = value(#"{"a":-0.0}"#) else { return XCTFail() }
        XCTAssertEqual(z, 0)
        XCTAssertEqual(z.sign, .minus)
        guard case .real(let e)? = value(#"{"a":-0e999}"#) else { return XCTFail() }
        XCTAssertEqual(e.sign, .minus)
        guard case .real(let p)? = value(#"{"a":0e0}"#) else { return XCTFail() }
        XCTAssertEqual(p.sign, .plus)
        XCTAssertEqual(value(#"{"a":0.0}"#), .real(0))
    }

    func testNumbersGivingUp() {
        // Out of range: SQLite gives inf / subnormals / 0.0; not answered here.
        XCTAssertNil(value(#"{"a":1e400}"#))
        XCTAssertNil(value(#"{"a":-1e400}"#))
        XCTAssertNil(value(#"{"a":1.7976931348623159e308}"#))
        XCTAssertNil(value(#"{"a":1e-400}"#))
        XCTAssertNil(value(#"{"a":4.9e-324}"#))
        XCTAssertNil(value(#"{"a":1e99999999999999999999}"#))
        XCTAssertNil(value(#"{"a":12345678901234567891e-30}"#))
        // Malformed (or JSON5, which only SQLite 3.54 accepts).
        for bad in ["01", "-01", "-", "1.", ".5", "+5", "1e", "1e+", "1.e3", "0x10", "1x", "- 1", "1.5.2",
                    "Infinity", "NaN", "-Infinity", "1ee2", "00"] {
            XCTAssertNil(value(#"{"a":"# + bad + "}"), bad)
        }
    }

    // MARK: Strings

    func testStrings() {
        XCTAssertEqual(value(#"{"a":"plain text"}"#), .text("plain text"))
        XCTAssertEqual(value(#"{"a":"\"\\\/\b\f\n\r\t"}"#), .text("\"\\/\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(value(#"{"a":"\u00e9\u00E9\u65e5"}"#), .text("éé日"))
        XCTAssertEqual(value(#"{"a":"\ud83d\ude00 \uD83D\uDE00"}"#), .text("😀 😀"))
        XCTAssertEqual(value(#"{"a":"\u0041\u007f\u0001"}"#), .text("A\u{7F}\u{1}"))
        XCTAssertEqual(value(#"{"a":"raw é 日本 😀"}"#), .text("raw é 日本 😀"))
        XCTAssertEqual(value(#"{"a":"mixed \"é\" \\ 😀"}"#), .text("mixed \"é\" \\ 😀"))
        XCTAssertEqual(value(#"{"a":"\\"}"#), .text("\\"))
        XCTAssertEqual(value(#"{"a":"x\\\"y"}"#), .text("x\\\"y"))
    }

    func testStringsGivingUp() {
        XCTAssertNil(value(#"{"a":"x\u0000y"}"#))  // 3.40 gives "x", 3.54 "x\0y"
        XCTAssertNil(value(#"{"a":"\ud83d"}"#))     // lone surrogates: invalid UTF-8 from SQLite
        XCTAssertNil(value(#"{"a":"\ude00"}"#))
        XCTAssertNil(value(#"{"a":"\ud83d\u0041"}"#))
        XCTAssertNil(value(#"{"a":"\ud83dx"}"#))
        XCTAssertNil(value(#"{"a":"\ud83d\"}"#))
        XCTAssertNil(value(#"{"a":"\x41"}"#))       // JSON5 escapes
        XCTAssertNil(value(#"{"a":"\'"}"#))
        XCTAssertNil(value(#"{"a":"\v"}"#))
        XCTAssertNil(value(#"{"a":"\u00"}"#))
        XCTAssertNil(value(#"{"a":"\u00g0"}"#))
        XCTAssertNil(value("{\"a\":\"tab\there\"}"))     // raw control characters
        XCTAssertNil(value("{\"a\":\"line\nbreak\"}"))
        XCTAssertNil(value("{\"a\":\"x\\\u{1}\"}"))
        XCTAssertNil(value(#"{"a":'single'}"#))
        XCTAssertNil(value(#"{"a":"unterminated}"#))
        // Invalid UTF-8 cannot become a String that equals SQLite's text.
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                             [0xE2, 0x82], [0x80], [0xF0, 0x9F, 0x98]] {
            let doc = Array(#"{"a":"x"#.utf8) + bad + Array(#"y"}"#.utf8)
            XCTAssertNil(scan(bytes: doc, ["$.a"]), "\(bad)")
            // ... but it is fine inside values that are only skipped.
            XCTAssertEqual(scan(bytes: doc, ["$.b"]), [.missing], "\(bad)")
        }
        XCTAssertEqual(scan(bytes: Array(#"{"a":""#.utf8) + [0xF4, 0x8F, 0xBF, 0xBF] + Array(#""}"#.utf8), ["$.a"]),
                       [.text("\u{10FFFF}")])
    }

    // MARK: Keys

    func testKeysWithEscapes() {
        // 3.40 compares raw key text, 3.54 unescaped text: give up when they differ.
        XCTAssertNil(value(#"{"a\u0062":1}"#, "$.ab"))
        XCTAssertNil(value(#"{"a\u0062":1,"ab":2}"#, "$.ab"))
        XCTAssertNil(value(#"{"a\/b":1}"#, #"$."a/b""#))
        // The plain spelling first: both versions take it.
        XCTAssertEqual(value(#"{"ab":1,"a\u0062":2}"#, "$.ab"), .integer(1))
        // Escaped keys that are not wanted are skipped.
        XCTAssertEqual(value(#"{"x\"y":1,"a\\b":2,"\u00e9":3,"ab":4}"#, "$.ab"), .integer(4))
        XCTAssertNil(value(#"{"\q":1,"ab":4}"#, "$.ab"))
        // A path key with a backslash: 3.54 unescapes it, 3.40 does not; such paths are refused.
        XCTAssertThrowsError(try JSONPath(parsing: #"$."a\\b""#))
        XCTAssertThrowsError(try JSONPath(parsing: #"$."a\b""#))
        XCTAssertThrowsError(try JSONPath(parsing: #"$."a\""#))
    }

    func testUnicodeAndQuotedKeys() {
        XCTAssertEqual(value(#"{"é":1,"日本":2}"#, #"$."日本""#), .integer(2))
        XCTAssertEqual(value(#"{"a b":1,"a.b":2,"":3}"#, #"$."a.b""#), .integer(2))
        XCTAssertEqual(value(#"{"a b":1,"a.b":2,"":3}"#, #"$."a b""#), .integer(1))
        XCTAssertEqual(value("{\"e\u{301}\":1,\"é\":2}", #"$."é""#), .integer(2))  // bytes, not Unicode equivalence
        XCTAssertEqual(value(#"{"A":1,"a":2}"#), .integer(2))
        XCTAssertEqual(value(#"{"aa":1,"a":2}"#), .integer(2))
        XCTAssertEqual(value(#"{"a":1}"#, "$.aa"), .missing)
    }

    func testDuplicateKeysFirstWins() {
        XCTAssertEqual(value(#"{"a":1,"a":2}"#), .integer(1))
        XCTAssertEqual(value(#"{"a":{"x":1},"a":{"x":2}}"#, "$.a.x"), .integer(1))
        XCTAssertEqual(value(#"{"a":{"x":1},"a":{"y":2}}"#, "$.a.y"), .missing)
        XCTAssertEqual(scan(#"{"a":{"x":1,"x":3},"a":{"y":2}}"#, "$.a.x", "$.a.y", "$.a"),
                       [.integer(1), .missing, .complex])
        XCTAssertEqual(value(#"{"a":[1],"a":[2]}"#, "$.a[0]"), .integer(1))
    }

    // MARK: Structure

    func testNestedArraysOfObjects() {
        let doc = #"{"a":[{"b":1},{"b":[10,20,{"c":"deep","d":[[1,2],[3,[4,5]]]}]}],"z":0}"#
        XCTAssertEqual(scan(doc, "$.a[1].b[2].c", "$.a[0].b", "$.a[5]", "$.a[1].b[2].d[1][1][0]",
                            "$.a[1].b[2].d[1][1][2]", "$.z", "$.a[1].b[2]", "$.a[1].b[2].d[0][1]"),
                       [.text("deep"), .integer(1), .missing, .integer(4), .missing, .integer(0), .complex, .integer(2)])
    }

    func testSkipsTrickyValues() {
        let doc = #"""
        {"s":"a\"}],\\","t":"x{[\"","u":"\\","v":"\\\"","w":["]",{"}":"{"},[[["\""]]]],
         "x":{"y":{"z":[1,-2.5e-3,true,false,null,"\u005d"]}},"e":"\ud83d\ude00","ts":5}
        """#
        XCTAssertEqual(scan(doc, "$.ts", #"$.w[1]."}""#, "$.w[2][0][0][0]", "$.x.y.z[5]", "$.e", "$.v"),
                       [.integer(5), .text("{"), .text("\""), .text("]"), .text("😀"), .text("\\\"")])
    }

    func testWhitespaceEverywhere() {
        let doc = " \n\t\r{ \"a\" \r\n : \t [ 1 ,\n2 ] ,\"b\"\n:\n{ } ,\t\"c\" : \"x\" \n , \"d\" : true\r\n}\n "
        XCTAssertEqual(scan(doc, "$.a[1]", "$.b", "$.c", "$.d", "$.a[0]"),
                       [.integer(2), .complex, .text("x"), .bool(true), .integer(1)])
    }

    func testSeveralPathsInOnePass() {
        let doc = #"{"ts":"2024-05-01T10:00:00Z","user":{"id":42,"name":"ann","tags":["a","b"]},"type":"click"}"#
        XCTAssertEqual(scan(doc, "$.type", "$.ts"), [.text("click"), .text("2024-05-01T10:00:00Z")])
        XCTAssertEqual(scan(doc, "$.user.tags[1]", "$.user.id", "$.user", "$.user.name", "$.user.zz", "$.ts", "$.user.id"),
                       [.text("b"), .integer(42), .complex, .text("ann"), .missing, .text("2024-05-01T10:00:00Z"), .integer(42)])
        XCTAssertEqual(scan(doc, "$.user.tags[0]", "$.user.tags[1]", "$.user.tags[2]", "$.user.tags"),
                       [.text("a"), .text("b"), .missing, .complex])
        XCTAssertEqual(scan(doc, "$.user.id.x", "$.user.tags.x", "$.type[0]"), [.missing, .missing, .missing])
    }

    func testManyPaths() {
        var doc = "{"
        for i in 0..<100 { doc += "\"k\(i)\":\(i)," }
        doc += "\"o\":{\"x\":[0,1]}}"
        var texts = (0..<140).map { "$.k\($0)" }
        texts += ["$.o.x[1]", "$"]
        let expected: [ScannedValue] = (0..<140).map { $0 < 100 ? .integer(Int64($0)) : .missing } + [.integer(1), .complex]
        XCTAssertEqual(scan(bytes: Array(doc.utf8), texts), expected)
        XCTAssertEqual(scan(bytes: Array(doc.utf8), Array(texts.reversed())), Array(expected.reversed()))
    }

    func testValuesAfterTheWantedOnesAreNotRead() {
        // The scanner stops once every path is answered; SQLite validates the whole text.
        XCTAssertEqual(value(#"{"a":1, garbage"#), .integer(1))
        XCTAssertNil(value(#"{"b":1, garbage, "a":2}"#))
    }

    // MARK: Not an object, JSON5, malformed

    func testTopLevelMustBeAnObject() {
        for doc in ["", " ", "[1]", "\"a\"", "1", "null", "\u{FEFF}{\"a\":1}", "\u{B}{\"a\":1}", "x{}"] {
            XCTAssertNil(scan(doc, "$.a"), doc)
            XCTAssertNil(scan(doc, "$"), doc)
            XCTAssertFalse(Array(doc.utf8).withUnsafeBytes { DocumentScanner.startsWithObject($0) }, doc)
        }
        for doc in ["{", "{}", " \t\r\n{\"a\":1}", "{garbage"] {
            XCTAssertTrue(Array(doc.utf8).withUnsafeBytes { DocumentScanner.startsWithObject($0) }, doc)
        }
        XCTAssertFalse(DocumentScanner.startsWithObject(UnsafeRawBufferPointer(start: nil, count: 0)))
        XCTAssertNil(DocumentScanner.scan(UnsafeRawBufferPointer(start: nil, count: 0), paths: []))
    }

    func testJSON5GivesUp() {
        XCTAssertNil(value(#"{a:1}"#))
        XCTAssertNil(value(#"{"b":1,}"#))
        XCTAssertNil(value(#"{'a':1}"#))
        XCTAssertNil(value(#"{"a":[1,2,]}"#, "$.a[2]"))
        XCTAssertNil(value(#"{/*c*/"a":1}"#))
        XCTAssertNil(value(#"{"a"/*c*/:1}"#))
        XCTAssertNil(value("{\"a\":1\u{B}}", "$.b"))
        XCTAssertNil(value("{\"a\":\u{A0}1}"))
        // Skipped values must not let comments or single quotes hide brackets.
        XCTAssertNil(value(#"{"x":[1, /* ], "a": 9, "y": [ */ 2], "a":5}"#))
        XCTAssertNil(value(#"{"x":{"k":'}', "a": 9, "y": {'}, "a":5}"#))
        XCTAssertNil(value(#"{"x":[1, // ], "a": 9, "y": [ "#))
        XCTAssertNil(value(#"{"x":[Infinity], "a":5}"#))
        XCTAssertNil(value(#"{"x":{unquoted:1}, "a":5}"#))
    }

    func testMalformedGivesUp() {
        for doc in [#"{"a" 1}"#, #"{"a":}"#, #"{"a":1 "b":2}"#, #"{"a":1;"b":2}"#, #"{"b":1 "a":2}"#,
                    #"{"b":[1 2],"a":2"#, #"{"b":tru,"a":1}"#, #"{"b":nul}"#, #"{"b":[}],"a":1"#,
                    #"{"a":[1,2}"#, #"{"a"::1}"#, #"{1:2}"#, #"{"a":1,,"b":2}"#, #"{,"a":1}"#, #"{"a":truex}"#,
                    #"{"a":nullnull}"#, #"{"b":"\"#, #"{"b":"\\"#] {
            XCTAssertNil(scan(doc, "$.zz"), doc)
        }
        XCTAssertNil(value(#"{"a":[1,2}"#, "$.a[2]"))
        XCTAssertNil(value(#"{"a":[1 2]}"#, "$.a[1]"))
        XCTAssertNil(value(#"{"a":{"b":1]}"#, "$.a.c"))
    }

    func testEveryPrefixOfADocument() {
        let doc = #"""
        {"ts": 1718000000.25, "s": "a\"b\\\u00e9\ud83d\ude00", "n": [1, -2, 3e4, {"k": [null, true, false]}],
         "o": {"x": {"y": "z"}, "e": {}, "a": []}, "u": "\u0041", "i": -9223372036854775808, "type": "t"}
        """#
        let bytes = Array(doc.utf8)
        let pathSets = [["$.type"], ["$.ts"], ["$.n[3].k[2]", "$.o.x.y"], ["$.zz"], ["$", "$.o.e", "$.u", "$.i", "$.s"]]
        XCTAssertEqual(scan(bytes: bytes, pathSets[0]), [.text("t")])
        XCTAssertEqual(scan(bytes: bytes, pathSets[2]), [.bool(false), .text("z")])
        XCTAssertEqual(scan(bytes: bytes, pathSets[4]),
                       [.complex, .complex, .text("A"), .integer(.min), .text("a\"b\\é😀")])
        for texts in pathSets {
            let full = scan(bytes: bytes, texts)
            XCTAssertNotNil(full)
            for end in 0..<bytes.count {
                // Each prefix in a buffer of exactly its size, so reading past it would be caught
                // by the address sanitizer.
                let prefix = Array(bytes[..<end])
                let result = scan(bytes: prefix, texts)
                // A prefix either gives up or agrees with the whole document.
                if let result { XCTAssertEqual(result, full, "prefix \(end) for \(texts)") }
            }
            XCTAssertNil(scan(bytes: Array(bytes[..<(bytes.count - 1)]), ["$.zz"]))
        }
    }

    func testRandomBytesDoNotCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        let alphabet = Array(#"{}[]":,\ u0123456789-+.eEtruefalsn/'abxy"#.utf8) + [0x0A, 0x00, 0xFF, 0xC3, 0xA9]
        let texts = ["$.a", "$.a[1]", "$.b.a", "$"]
        for _ in 0..<3000 {
            let length = Int(next() % 40)
            var bytes: [UInt8] = [0x7B]
            for _ in 0..<length { bytes.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            _ = scan(bytes: bytes, texts)
        }
    }

    func testDeepNesting() {
        // 999 arrays inside the top object: 1000 levels, SQLite's limit (3.54).
        let ok = #"{"x":"# + String(repeating: "[", count: 999) + String(repeating: "]", count: 999) + #","a":1}"#
        XCTAssertEqual(value(ok), .integer(1))
        let tooDeep = #"{"x":"# + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + #","a":1}"#
        XCTAssertNil(value(tooDeep))
        XCTAssertEqual(value(tooDeep, "$.a"), nil)
        // Unclosed deep nesting, no stack overflow.
        XCTAssertNil(value(#"{"x":"# + String(repeating: "[{\"k\":", count: 100_000)))
        XCTAssertNil(value(#"{"x":"# + String(repeating: "[", count: 100_000)))
        // A long path down nested objects.
        let depth = 300
        let nested = String(repeating: #"{"k":"#, count: depth) + "7" + String(repeating: "}", count: depth)
        let path = "$" + String(repeating: ".k", count: depth)
        XCTAssertEqual(value(nested, path), .integer(7))
        XCTAssertEqual(value(nested, path + ".z"), .missing)
        XCTAssertEqual(value(nested, String(path.dropLast(2))), .complex)
        let deepNested = String(repeating: #"{"k":"#, count: 1001) + "7" + String(repeating: "}", count: 1001)
        XCTAssertNil(value(deepNested, "$.z"))
        // The value is found before the too-deep part, which SQLite rejects later.
        XCTAssertEqual(value(deepNested, "$" + String(repeating: ".k", count: 499)), .complex)
    }
}
