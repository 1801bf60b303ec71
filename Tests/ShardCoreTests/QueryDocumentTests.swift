import XCTest
@testable import ShardCore

final class QueryDocumentTests: XCTestCase {
    private func compile(_ text: String, first: Int = 1) throws -> CompiledQuery {
        try QueryDocument.compile(text, firstParameter: first)
    }

    /// The operand spelling the functional indexes use.
    private func x(_ path: String) -> String { "json_extract(doc, '\(path)')" }

    private func assertCompiles(_ text: String, first: Int = 1, _ sql: String, _ parameters: [SQLParameter],
                                paths: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let q = try compile(text, first: first)
            XCTAssertEqual(q.sql, sql, file: file, line: line)
            XCTAssertEqual(q.parameters, parameters, file: file, line: line)
            if let paths { XCTAssertEqual(q.paths.map(\.text), paths, file: file, line: line) }
        } catch {
            XCTFail("\(text): \(error)", file: file, line: line)
        }
    }

    private func assertFails(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        assertShardError(try compile(text), message: message, file: file, line: line)
    }

    // MARK: Documents and fields

    func testEmptyDocumentMatchesEverything() {
        assertCompiles("{}", "1", [], paths: [])
        assertCompiles(" { } ", "1", [])
    }

    func testScalarEquality() {
        assertCompiles(#"{"type":"click"}"#, "(\(x("$.type")) = +?1)", [.text("click")], paths: ["$.type"])
        assertCompiles(#"{"n":5}"#, "(\(x("$.n")) = +?1)", [.integer(5)])
        assertCompiles(#"{"n":-9223372036854775808}"#, "(\(x("$.n")) = +?1)", [.integer(Int64.min)])
        assertCompiles(#"{"n":2.5}"#, "(\(x("$.n")) = +?1)", [.real(2.5)])
        assertCompiles(#"{"n":1e2}"#, "(\(x("$.n")) = +?1)", [.real(100)])
        assertCompiles(#"{"ok":true}"#, "(\(x("$.ok")) = +?1)", [.integer(1)])
        assertCompiles(#"{"ok":false}"#, "(\(x("$.ok")) = +?1)", [.integer(0)])
        assertCompiles(#"{"gone":null}"#, "(\(x("$.gone")) IS NULL)", [], paths: ["$.gone"])
        assertCompiles(#"{"s":""}"#, "(\(x("$.s")) = +?1)", [.text("")])
    }

    func testFieldPaths() {
        assertCompiles(#"{"user.id":7}"#, "(\(x("$.user.id")) = +?1)", [.integer(7)], paths: ["$.user.id"])
        assertCompiles(#"{"a b.c":1}"#, "(\(x("$.\"a b\".c")) = +?1)", [.integer(1)])
        // A quote in a key is doubled inside the SQL literal.
        assertCompiles(#"{"it's":1}"#, "(json_extract(doc, '$.\"it''s\"') = +?1)", [.integer(1)], paths: ["$.\"it's\""])
        assertCompiles(#"{"$.tags[0]":"x"}"#, "(\(x("$.tags[0]")) = +?1)", [.text("x")], paths: ["$.tags[0]"])
        assertCompiles(#"{"$[1]":"x"}"#, "(\(x("$[1]")) = +?1)", [.text("x")])
        assertCompiles(#"{"$":"x"}"#, "(\(x("$")) = +?1)", [.text("x")])
        assertCompiles(#"{"$.\"a\"":1}"#, "(\(x("$.a")) = +?1)", [.integer(1)], paths: ["$.a"])
        // Text that looks like SQL stays in a parameter.
        assertCompiles(#"{"a":"x'); DROP TABLE t; --"}"#, "(\(x("$.a")) = +?1)", [.text("x'); DROP TABLE t; --")])
    }

    func testMembersAreAnded() {
        assertCompiles(#"{"type":"click","user.id":{"$in":[1,2]}}"#,
                       "((\(x("$.type")) = +?1) AND (\(x("$.user.id")) IN (+?2, +?3)))",
                       [.text("click"), .integer(1), .integer(2)], paths: ["$.type", "$.user.id"])
        assertCompiles(#"{"a":1,"b":2,"c":3}"#,
                       "((\(x("$.a")) = +?1) AND (\(x("$.b")) = +?2) AND (\(x("$.c")) = +?3))",
                       [.integer(1), .integer(2), .integer(3)])
    }

    // MARK: Operators

    func testEqAndNe() {
        assertCompiles(#"{"a":{"$eq":"x"}}"#, "(\(x("$.a")) = +?1)", [.text("x")])
        assertCompiles(#"{"a":{"$eq":true}}"#, "(\(x("$.a")) = +?1)", [.integer(1)])
        assertCompiles(#"{"a":{"$eq":null}}"#, "(\(x("$.a")) IS NULL)", [])
        assertCompiles(#"{"a":{"$eq":1.5}}"#, "(\(x("$.a")) = +?1)", [.real(1.5)])
        assertCompiles(#"{"a":{"$ne":"x"}}"#, "(\(x("$.a")) IS NOT +?1)", [.text("x")])
        assertCompiles(#"{"a":{"$ne":3}}"#, "(\(x("$.a")) IS NOT +?1)", [.integer(3)])
        assertCompiles(#"{"a":{"$ne":false}}"#, "(\(x("$.a")) IS NOT +?1)", [.integer(0)])
        assertCompiles(#"{"a":{"$ne":null}}"#, "(\(x("$.a")) IS NOT NULL)", [])
    }

    func testComparisons() {
        assertCompiles(#"{"a":{"$gt":1}}"#, "(\(x("$.a")) > +?1)", [.integer(1)])
        assertCompiles(#"{"a":{"$gte":1.5}}"#, "(\(x("$.a")) >= +?1)", [.real(1.5)])
        assertCompiles(#"{"a":{"$lt":"m"}}"#, "(\(x("$.a")) < +?1)", [.text("m")])
        assertCompiles(#"{"a":{"$lte":-3}}"#, "(\(x("$.a")) <= +?1)", [.integer(-3)])
        assertCompiles(#"{"ts":{"$gte":10,"$lt":20}}"#,
                       "((\(x("$.ts")) >= +?1) AND (\(x("$.ts")) < +?2))", [.integer(10), .integer(20)],
                       paths: ["$.ts"])
    }

    func testIn() {
        assertCompiles(#"{"a":{"$in":[1]}}"#, "(\(x("$.a")) IN (+?1))", [.integer(1)])
        assertCompiles(#"{"a":{"$in":["x",2,2.5,true,false]}}"#, "(\(x("$.a")) IN (+?1, +?2, +?3, +?4, +?5))",
                       [.text("x"), .integer(2), .real(2.5), .integer(1), .integer(0)])
        assertCompiles(#"{"a":{"$in":[1,null,2]}}"#,
                       "(\(x("$.a")) IN (+?1, +?2) OR \(x("$.a")) IS NULL)", [.integer(1), .integer(2)])
        assertCompiles(#"{"a":{"$in":[null]}}"#, "(\(x("$.a")) IS NULL)", [])
        assertCompiles(#"{"a":{"$in":[null,null]}}"#, "(\(x("$.a")) IS NULL)", [])
        // Duplicates are kept as written (one parameter each).
        assertCompiles(#"{"a":{"$in":[1,1]}}"#, "(\(x("$.a")) IN (+?1, +?2))", [.integer(1), .integer(1)])
    }

    func testNin() {
        assertCompiles(#"{"a":{"$nin":[1,"b"]}}"#,
                       "(\(x("$.a")) NOT IN (+?1, +?2) OR \(x("$.a")) IS NULL)", [.integer(1), .text("b")])
        assertCompiles(#"{"a":{"$nin":[true,null]}}"#,
                       "(\(x("$.a")) NOT IN (+?1) AND \(x("$.a")) IS NOT NULL)", [.integer(1)])
        assertCompiles(#"{"a":{"$nin":[null]}}"#, "(\(x("$.a")) IS NOT NULL)", [])
    }

    func testExists() {
        assertCompiles(#"{"a.b":{"$exists":true}}"#, "(json_type(doc, '$.a.b') IS NOT NULL)", [], paths: ["$.a.b"])
        assertCompiles(#"{"a":{"$exists":false}}"#, "(json_type(doc, '$.a') IS NULL)", [], paths: ["$.a"])
        assertCompiles(#"{"a":{"$exists":true,"$ne":null}}"#,
                       "((json_type(doc, '$.a') IS NOT NULL) AND (\(x("$.a")) IS NOT NULL))", [])
    }

    func testSeveralOperatorsKeepTheirOrder() {
        assertCompiles(#"{"a":{"$ne":0,"$in":[1,2],"$lte":9}}"#,
                       "((\(x("$.a")) IS NOT +?1) AND (\(x("$.a")) IN (+?2, +?3)) AND (\(x("$.a")) <= +?4))",
                       [.integer(0), .integer(1), .integer(2), .integer(9)])
    }

    // MARK: $and / $or

    func testAndOr() {
        assertCompiles(#"{"$or":[{"a":1},{"b":"x"}]}"#,
                       "((\(x("$.a")) = +?1) OR (\(x("$.b")) = +?2))", [.integer(1), .text("x")], paths: ["$.a", "$.b"])
        assertCompiles(#"{"$and":[{"a":1},{"a":{"$lt":5}}]}"#,
                       "((\(x("$.a")) = +?1) AND (\(x("$.a")) < +?2))", [.integer(1), .integer(5)], paths: ["$.a"])
        assertCompiles(#"{"$or":[{"a":1}]}"#, "(\(x("$.a")) = +?1)", [.integer(1)])
        assertCompiles(#"{"$or":[{}]}"#, "1", [])
        assertCompiles(#"{"$or":[{},{"a":1}]}"#, "(1 OR (\(x("$.a")) = +?1))", [.integer(1)])
        // A document inside $or with several members is ANDed and parenthesised.
        assertCompiles(#"{"$or":[{"a":1,"b":2},{"c":3}]}"#,
                       "(((\(x("$.a")) = +?1) AND (\(x("$.b")) = +?2)) OR (\(x("$.c")) = +?3))",
                       [.integer(1), .integer(2), .integer(3)])
        // Beside fields, and nested.
        assertCompiles(#"{"t":"x","$or":[{"a":1},{"$and":[{"b":2},{"c":{"$exists":false}}]}]}"#,
                       "((\(x("$.t")) = +?1) AND ((\(x("$.a")) = +?2) OR ((\(x("$.b")) = +?3) AND (json_type(doc, '$.c') IS NULL))))",
                       [.text("x"), .integer(1), .integer(2)], paths: ["$.t", "$.a", "$.b", "$.c"])
        assertCompiles(#"{"$and":[{"$or":[{"a":1},{"a":2}]},{"$or":[{"b":1},{"b":2}]}]}"#,
                       "(((\(x("$.a")) = +?1) OR (\(x("$.a")) = +?2)) AND ((\(x("$.b")) = +?3) OR (\(x("$.b")) = +?4)))",
                       [.integer(1), .integer(2), .integer(1), .integer(2)], paths: ["$.a", "$.b"])
    }

    // MARK: Parameters, determinism, paths

    func testParameterNumberingFromOtherStart() {
        assertCompiles(#"{"a":{"$in":[1,null,3]},"$or":[{"b":"x"},{"c":{"$gt":2.5}}],"d":null}"#, first: 7,
                       "((\(x("$.a")) IN (+?7, +?8) OR \(x("$.a")) IS NULL) AND ((\(x("$.b")) = +?9) OR (\(x("$.c")) > +?10)) AND (\(x("$.d")) IS NULL))",
                       [.integer(1), .integer(3), .text("x"), .real(2.5)])
        assertCompiles("{}", first: 5, "1", [])
        assertCompiles(#"{"a":1}"#, first: 32766, "(\(x("$.a")) = +?32766)", [.integer(1)])
    }

    func testFirstParameterRange() {
        assertShardError(try compile("{}", first: 0), message: "shards: bad query document: first parameter number 0 out of range")
        assertShardError(try compile("{}", first: -1), "first parameter number -1 out of range")
        assertShardError(try compile("{}", first: Int.max), "out of range")
    }

    func testDeterminism() throws {
        let text = #"{"type":"click","user.id":{"$in":[1,2,null]},"$or":[{"a":{"$exists":true}},{"b":{"$nin":["x"]}}]}"#
        let one = try compile(text, first: 3)
        let two = try compile(text, first: 3)
        XCTAssertEqual(one, two)
        // Whitespace and escapes that do not change the document do not change the SQL.
        let spaced = try compile(" {\"type\" : \"click\", \"user.id\":{\"$in\":[1, 2, null]} ,\"$or\":[{\"a\":{\"$exists\":true}},{\"b\":{\"$nin\":[\"\\u0078\"]}}]}", first: 3)
        XCTAssertEqual(one, spaced)
        // Values never reach the SQL text: documents differing only in values share it.
        let other = try compile(#"{"type":"view","user.id":{"$in":[8,9,null]},"$or":[{"a":{"$exists":true}},{"b":{"$nin":[5]}}]}"#, first: 3)
        XCTAssertEqual(one.sql, other.sql)
        XCTAssertNotEqual(one.parameters, other.parameters)
    }

    func testPathsInOrderOfFirstUseWithoutDuplicates() throws {
        let q = try compile(#"{"b":1,"a":{"$gt":1,"$lt":3},"$or":[{"b":2},{"c.d":{"$exists":true}},{"$.a":4}]}"#)
        XCTAssertEqual(q.paths.map(\.text), ["$.b", "$.a", "$.c.d"])
        XCTAssertEqual(q.paths[2], try JSONPath(dottedField: "c.d"))
    }

    func testParameterLimit() throws {
        let thousand = "[" + (1...1000).map(String.init).joined(separator: ",") + "]"
        let q = try compile(#"{"a":{"$in":"# + thousand + "}}")
        XCTAssertEqual(q.parameters.count, 1000)
        XCTAssertTrue(q.sql.hasSuffix("+?999, +?1000))"))
        // Nulls and $exists take no parameters.
        XCTAssertNoThrow(try compile(#"{"a":{"$in":"# + thousand + #"},"b":null,"c":{"$exists":true},"d":{"$nin":[null]}}"#))
        assertFails(#"{"a":{"$in":"# + thousand + #"},"b":1}"#,
                    "shards: bad query document at b: more than 1000 parameters")
        let more = "[" + (1...1001).map(String.init).joined(separator: ",") + "]"
        assertFails(#"{"x.y":{"$nin":"# + more + "}}", "shards: bad query document at x.y.$nin: more than 1000 parameters")
    }

    func testNestingLimit() throws {
        // Each $and level is two JSON levels (array, object); the parser's 64 caps it.
        func nested(_ levels: Int) -> String {
            String(repeating: #"{"$and":["#, count: levels) + #"{"a":1}"# + String(repeating: "]}", count: levels)
        }
        let q = try compile(nested(31))
        XCTAssertEqual(q.sql, "(\(x("$.a")) = +?1)")
        assertShardError(try compile(nested(32)), "shards: bad query document: nesting deeper than 64 at offset")
    }

    // MARK: Errors

    func testNotAnObject() {
        assertFails("[]", "shards: bad query document: expected a JSON object, got an array")
        assertFails("1", "shards: bad query document: expected a JSON object, got a number")
        assertFails("\"a\"", "shards: bad query document: expected a JSON object, got a string")
        assertFails("null", "shards: bad query document: expected a JSON object, got null")
        assertFails("true", "shards: bad query document: expected a JSON object, got a boolean")
        assertFails("{", "shards: bad query document: unexpected end of input, expected a string key at offset 1")
        assertFails(#"{"a":1,"a":2}"#, "shards: bad query document: duplicate key 'a' at offset 7")
    }

    func testArrayValue() {
        assertFails(#"{"tags":["a"]}"#, "shards: bad query document at tags: an array value needs $in")
        assertFails(#"{"$or":[{"x":{"y":1}},{"u.v":[]}]}"#, "shards: bad query document at $or[0].x: an object value must hold operators ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists); to test a nested field write 'x.y'")
        assertFails(#"{"$or":[{"u.v":[]}]}"#, "shards: bad query document at $or[0].u.v: an array value needs $in")
    }

    func testObjectValueErrors() {
        assertFails(#"{"a":{}}"#, "shards: bad query document at a: expected at least one operator ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists)")
        assertFails(#"{"a":{"b":1}}"#, "shards: bad query document at a: an object value must hold operators ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists); to test a nested field write 'a.b'")
        assertFails(#"{"a":{"$gt":1,"b":2}}"#, "shards: bad query document at a: an object value cannot mix operators and plain keys ('b')")
        assertFails(#"{"a":{"b":2,"$gt":1}}"#, "shards: bad query document at a: an object value cannot mix operators and plain keys ('b')")
        // A full-path key is not an operator.
        assertFails(#"{"a":{"$gt":1,"$.b":2}}"#, "shards: bad query document at a: an object value cannot mix operators and plain keys ('$.b')")
    }

    func testUnknownOperators() {
        let valid = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists"
        assertFails(#"{"a":{"$not":{"$eq":1}}}"#, "shards: bad query document at a.$not: unknown operator '$not'; valid operators: \(valid)")
        assertFails(#"{"a":{"$regex":"x"}}"#, "shards: bad query document at a.$regex: unknown operator '$regex'; valid operators: \(valid)")
        assertFails(#"{"a":{"$EQ":1}}"#, "shards: bad query document at a.$EQ: unknown operator '$EQ'; valid operators: \(valid)")
        assertFails(#"{"$not":{"a":1}}"#, "shards: bad query document at $not: unknown operator '$not'; a query document holds field names and $and, $or (field operators: \(valid))")
        assertFails(#"{"$nor":[{"a":1}]}"#, "shards: bad query document at $nor: unknown operator '$nor'; a query document holds field names and $and, $or (field operators: \(valid))")
        assertFails(#"{"$eq":1}"#, "shards: bad query document at $eq: unknown operator '$eq'; a query document holds field names and $and, $or (field operators: \(valid))")
        assertFails(#"{"$or":[{"$where":"1"}]}"#, "shards: bad query document at $or[0].$where: unknown operator '$where'; a query document holds field names and $and, $or (field operators: \(valid))")
        assertFails(#"{"a":{"$or":[{"$gt":1}]}}"#, "shards: bad query document at a.$or: unknown operator '$or' under a field; $and and $or take query documents and go beside fields, not under them (field operators: \(valid))")
        assertFails(#"{"a":{"$and":[]}}"#, "shards: bad query document at a.$and: unknown operator '$and' under a field; $and and $or take query documents and go beside fields, not under them (field operators: \(valid))")
    }

    func testOperandErrors() {
        let scalar = "expected a string, number, boolean or null"
        assertFails(#"{"a":{"$eq":[1]}}"#, "shards: bad query document at a.$eq: \(scalar), got an array")
        assertFails(#"{"a":{"$eq":{"b":1}}}"#, "shards: bad query document at a.$eq: \(scalar), got an object")
        assertFails(#"{"a":{"$ne":[]}}"#, "shards: bad query document at a.$ne: \(scalar), got an array")
        assertFails(#"{"a":{"$gt":null}}"#, "shards: bad query document at a.$gt: expected a number or a string, got null")
        assertFails(#"{"a":{"$gte":true}}"#, "shards: bad query document at a.$gte: expected a number or a string, got a boolean")
        assertFails(#"{"a":{"$lt":[1]}}"#, "shards: bad query document at a.$lt: expected a number or a string, got an array")
        assertFails(#"{"a":{"$lte":{}}}"#, "shards: bad query document at a.$lte: expected a number or a string, got an object")
        assertFails(#"{"user.id":{"$in":[]}}"#, "shards: bad query document at user.id.$in: expected a non-empty array of scalars, got an empty array")
        assertFails(#"{"user.id":{"$in":1}}"#, "shards: bad query document at user.id.$in: expected a non-empty array of scalars, got a number")
        assertFails(#"{"a":{"$in":[1,[2]]}}"#, "shards: bad query document at a.$in[1]: \(scalar), got an array")
        assertFails(#"{"a":{"$nin":[]}}"#, "shards: bad query document at a.$nin: expected a non-empty array of scalars, got an empty array")
        assertFails(#"{"a":{"$nin":null}}"#, "shards: bad query document at a.$nin: expected a non-empty array of scalars, got null")
        assertFails(#"{"a":{"$nin":[{}]}}"#, "shards: bad query document at a.$nin[0]: \(scalar), got an object")
        assertFails(#"{"a":{"$exists":1}}"#, "shards: bad query document at a.$exists: expected true or false, got a number")
        assertFails(#"{"a":{"$exists":null}}"#, "shards: bad query document at a.$exists: expected true or false, got null")
        assertFails(#"{"a":{"$exists":"yes"}}"#, "shards: bad query document at a.$exists: expected true or false, got a string")
    }

    func testLogicalErrors() {
        let docs = "expected a non-empty array of query documents"
        assertFails(#"{"$or":[]}"#, "shards: bad query document at $or: \(docs), got an empty array")
        assertFails(#"{"$and":{"a":1}}"#, "shards: bad query document at $and: \(docs), got an object")
        assertFails(#"{"$or":null}"#, "shards: bad query document at $or: \(docs), got null")
        assertFails(#"{"$or":[{"a":1},2]}"#, "shards: bad query document at $or[1]: expected an object, got a number")
        assertFails(#"{"$or":[{"a":1},[]]}"#, "shards: bad query document at $or[1]: expected an object, got an array")
        assertFails(#"{"$and":[{"$or":[{"a":{"$gt":null}}]}]}"#, "shards: bad query document at $and[0].$or[0].a.$gt: expected a number or a string, got null")
        assertFails(#"{"$and":[{"b":1},{"$or":"x"}]}"#, "shards: bad query document at $and[1].$or: \(docs), got a string")
    }

    func testBadFieldNames() {
        assertFails(#"{"a..b":1}"#, "shards: bad query document: bad field name 'a..b': empty name; write fields as name or name.name")
        assertFails(#"{"":1}"#, "shards: bad query document: bad field name '': empty name; write fields as name or name.name")
        assertFails(#"{"a.":1}"#, "shards: bad query document: bad field name 'a.': empty name; write fields as name or name.name")
        assertFails(#"{"a\"b":1}"#, "shards: bad query document: bad field name 'a\"b': a name containing '\"', '\\' or NUL cannot be used in a JSON path")
        assertFails(#"{"$or":[{"x":1},{"a\u0000b":1}]}"#, "shards: bad query document at $or[1]: bad field name 'a\\0b': a name containing '\"', '\\' or NUL cannot be used in a JSON path")
        assertShardError(try compile(#"{"$.a[":1}"#), "shards: bad query document: bad JSON path")
        assertShardError(try compile(#"{"$x.a":1}"#), "unknown operator '$x.a'")
        let long = String(repeating: "a", count: 1000)
        assertShardError(try compile("{\"\(long)\":1}"), "shards: bad query document: bad field name", "longer than 1000 characters")
    }

    func testLocationShowsNulVisibly() {
        assertFails(#"{"a":{"$x\u0000":1}}"#, "shards: bad query document at a.$x\\0: unknown operator '$x\\0'; valid operators: $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists")
    }
}
