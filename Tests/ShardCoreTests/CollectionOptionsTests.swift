import XCTest
@testable import ShardCore

final class CollectionOptionsTests: XCTestCase {
    private func parse(_ arguments: String...) throws -> CollectionOptions {
        try CollectionOptions.parse(arguments: arguments)
    }

    private func path(_ text: String) -> JSONPath { try! JSONPath(parsing: text) }

    func testDefaults() throws {
        let options = try parse()
        XCTAssertEqual(options, CollectionOptions())
        XCTAssertEqual(options.partition, .month)
        XCTAssertNil(options.timePath)
        XCTAssertEqual(options.timeUnit, .ms)
        XCTAssertNil(options.categoryPath)
        XCTAssertEqual(options.maxRows, 100_000)
        XCTAssertEqual(options.indexes, [])
    }

    func testSpecExample() throws {
        let options = try parse("partition = month", "time      = '$.ts'", "category  = '$.app'",
                                "max_rows  = 100000", "index     = '$.type'", "index     = 'user: $.user.id'")
        XCTAssertEqual(options.partition, .month)
        XCTAssertEqual(options.timePath, path("$.ts"))
        XCTAssertEqual(options.categoryPath, path("$.app"))
        XCTAssertEqual(options.maxRows, 100_000)
        XCTAssertEqual(options.indexes, [IndexSpec(name: "type", path: path("$.type")),
                                         IndexSpec(name: "user", path: path("$.user.id"))])
    }

    /// What the scanner reads at every insert: the time path, then the category path.
    func testPlacementPaths() throws {
        XCTAssertEqual(try parse().placementPaths, [])
        XCTAssertEqual(try parse("category = '$.app'").placementPaths, [path("$.app")])
        XCTAssertEqual(try parse("category = '$.app'", "time = '$.ts'").placementPaths, [path("$.ts"), path("$.app")])
        var options = try parse("time = '$.ts'")
        options.timePath = nil
        XCTAssertEqual(options.placementPaths, [])
    }

    func testSpellings() throws {
        let options = try parse("  PARTITION\t=\n DAY ", "Time=\"$.t\"", "time_unit = s", "max_rows=1",
                                "category = '$.\"it''s\"'", "index = \"n: $.\"\"a b\"\"\"")
        XCTAssertEqual(options.partition, .day)
        XCTAssertEqual(options.timePath, path("$.t"))
        XCTAssertEqual(options.timeUnit, .s)
        XCTAssertEqual(options.maxRows, 1)
        XCTAssertEqual(options.categoryPath?.steps, [.key("it's")])
        XCTAssertEqual(options.indexes, [IndexSpec(name: "n", path: path("$.\"a b\""))])
        XCTAssertEqual(try parse("partition = none").partition, .none)
        XCTAssertEqual(try parse("partition = 'hour'").partition, .hour)
        XCTAssertEqual(try parse("max_rows = 1000000000000").maxRows, 1_000_000_000_000)
        XCTAssertEqual(try parse("time_unit = ms", "time = '$.t'").timeUnit, .ms)
    }

    func testUnknownAndRepeatedOptions() {
        assertShardError(try parse("partiton = month"), message: "shards: unknown option 'partiton'; "
            + "valid options: partition, time, time_unit, category, max_rows, index, buffer, flush_ms, retain, merge, merge_rows, storage")
        assertShardError(try parse("retain = '90 days'", "partition = none"), "retain needs periods")
        assertShardError(try parse("retain = 'ninety days'"), "bad retain 'ninety days'")
        assertShardError(try parse("retain = '3 weeks'"), "bad retain '3 weeks'")
        XCTAssertEqual(try parse("retain = '90 days'").retain, Retention(count: 90, unit: .days))
        XCTAssertEqual(try parse("retain = '1 Month'").retain, Retention(count: 1, unit: .months))
        XCTAssertEqual(try parse("buffer = 1000", "flush_ms = 250").buffer, 1000)
        XCTAssertEqual(try parse("buffer = 1000", "flush_ms = 250").flushMs, 250)
        XCTAssertEqual(try parse().buffer, 0)
        XCTAssertEqual(try parse().flushMs, 1000)
        assertShardError(try parse("buffer = -1"), "bad buffer '-1'")
        assertShardError(try parse("buffer = 2000000"), "bad buffer")
        assertShardError(try parse("flush_ms = soon"), "bad flush_ms 'soon'")
        assertShardError(try parse("partition = month", "Partition = day"),
                         message: "shards: option partition is given twice; only index may repeat")
        for key in ["time = '$.a'", "time_unit = s", "category = '$.a'", "max_rows = 5"] {
            assertShardError(try parse("time = '$.t'", key, key), "given twice")
        }
    }

    func testMalformedArguments() {
        assertShardError(try parse("partition month"), "bad argument 'partition month'", "expected key = value")
        assertShardError(try parse(""), "bad argument ''")
        assertShardError(try parse("= month"), "the option name before '=' is missing")
        assertShardError(try parse("partition ="), "option partition has no value")
        assertShardError(try parse("time = ''"), "option time has no value")
        assertShardError(try parse("time = '$.ts"), "badly quoted value ''$.ts'")
        assertShardError(try parse("time = 'a'b'"), "badly quoted")
        assertShardError(try parse("time = '"), "badly quoted")
        assertShardError(try parse("time = \"$.a'"), "badly quoted")
    }

    func testBadValues() {
        assertShardError(try parse("partition = weekly"),
                         message: "shards: bad partition 'weekly'; valid: none, year, month, day, hour")
        assertShardError(try parse("time = '$.t'", "time_unit = min"), message: "shards: bad time_unit 'min'; valid: ms, s")
        assertShardError(try parse("time_unit = s"), "time_unit = s is given without time")
        for bad in ["0", "-1", "+5", "1e6", "10 000", "1000000000001", "99999999999999999999", "abc", "1.5"] {
            assertShardError(try parse("max_rows = \(bad)"),
                             "bad max_rows '\(bad)'; valid: an integer from 1 to 1000000000000")
        }
        assertShardError(try parse("merge = never"), message: "shards: bad merge 'never'; valid: auto, none")
        assertShardError(try parse("merge_rows = 1"), "bad merge_rows '1'; valid: an integer from 2 to")
    }

    func testMergeOptions() throws {
        let defaults = try parse()
        XCTAssertTrue(defaults.autoMerge)
        XCTAssertEqual(defaults.mergeRows, 1_000_000)
        let set = try parse("merge = NONE", "merge_rows = 5000")
        XCTAssertFalse(set.autoMerge)
        XCTAssertEqual(set.mergeRows, 5000)
    }

    func testBadPaths() {
        assertShardError(try parse("time = '$.a b'"), message: "shards: option time: bad JSON path '$.a b': "
            + "expected .name, .\"quoted name\" or [N] after '$.a'")
        assertShardError(try parse("category = ts"), "option category: bad JSON path 'ts'")
        assertShardError(try parse("time = '$'"), "option time: the path '$' is the whole document")
        assertShardError(try parse("category = '$'"), "option category", "whole document")
    }

    func testIndexes() throws {
        let options = try parse("index = '$.a[0].b'", "index = 'B2: $.b'", "index = ' c : $.\"c d\" '")
        XCTAssertEqual(options.indexes.map(\.name), ["b", "B2", "c"])
        XCTAssertEqual(options.indexes.map(\.path.text), ["$.a[0].b", "$.b", "$.\"c d\""])
    }

    func testBadIndexes() {
        assertShardError(try parse("index = type"), "shards: bad index 'type': expected '$.path' or 'name: $.path'")
        assertShardError(try parse("index = '$.a[0]'"), "bad index '$.a[0]'", "give the column a name", "'name: $.a[0]'")
        assertShardError(try parse("index = '$.\"a b\"'"), "give the column a name")
        assertShardError(try parse("index = 'x: $.a b'"),
                         message: "shards: bad index 'x: $.a b': unknown type 'b'; valid: integer, real, text, or none")
        assertShardError(try parse("index = 'x: $.a b2'"), "bad index 'x: $.a b2': bad JSON path '$.a b2'")
        assertShardError(try parse("index = 'x: $.a int'"), "unknown type 'int'")
        assertShardError(try parse("index = 'x: integer'"), "bad index 'x: integer'", "bad JSON path")
        assertShardError(try parse("index = 'x: $'"), "whole document")
        assertShardError(try parse("index = '$.user.id'"), "column name 'id' is taken by a built-in column",
                         "id, ts, shard, doc, filter", "'my_id: $.user.id'")
        for reserved in ["ID", "ts", "Shard", "doc", "FILTER"] {
            assertShardError(try parse("index = '\(reserved): $.x'"), "column name '\(reserved)' is taken")
        }
        for name in ["1a", "a-b", "a b", "", "é", String(repeating: "n", count: 65)] {
            assertShardError(try parse("index = '\(name): $.x'"), "must be letters, digits and _")
        }
        XCTAssertNoThrow(try parse("index = '\(String(repeating: "n", count: 64)): $.x'"))
    }

    func testDuplicateIndexes() {
        assertShardError(try parse("index = 'u: $.a'", "index = 'U: $.b'"),
                         message: "shards: index column 'u' is defined twice; give each index its own name")
        assertShardError(try parse("index = '$.type'", "index = 'type: $.kind'"), "index column 'type' is defined twice")
        assertShardError(try parse("index = 'a: $.x'", "index = 'b: $.\"x\"'"),
                         message: "shards: path '$.x' is indexed twice (as 'a' and 'b'); keep one")
    }

    func testIndexSpecParsing() throws {
        XCTAssertEqual(try IndexSpec(parsing: "$.type"), IndexSpec(name: "type", path: path("$.type")))
        XCTAssertEqual(try IndexSpec(parsing: " user : $.user.id "), IndexSpec(name: "user", path: path("$.user.id")))
        XCTAssertEqual(try IndexSpec(parsing: "k: $.\"a:b\""), IndexSpec(name: "k", path: path("$.\"a:b\"")))
        XCTAssertEqual(try IndexSpec(parsing: "$.\"a:b\".c").name, "c")
    }

    func testStorage() throws {
        XCTAssertEqual(try parse().storage, .auto)
        XCTAssertEqual(try parse("storage = TEXT").storage, .text)
        assertShardError(try parse("storage = blob"), message: "shards: bad storage 'blob'; valid: auto, jsonb, text")
        XCTAssertTrue(try Storage.auto.storesJSONB(versionNumber: 3_045_000, version: "3.45.0"))
        XCTAssertFalse(try Storage.auto.storesJSONB(versionNumber: 3_044_999, version: "3.44.9"))
        XCTAssertFalse(try Storage.text.storesJSONB(versionNumber: 3_054_001, version: "3.54.1"))
        XCTAssertTrue(try Storage.jsonb.storesJSONB(versionNumber: 3_054_001, version: "3.54.1"))
        assertShardError(try Storage.jsonb.storesJSONB(versionNumber: 3_040_001, version: "3.40.1"),
                         message: "shards: storage = jsonb needs SQLite 3.45.0 or newer; this SQLite is 3.40.1; use storage = text (or auto)")
    }

    func testIndexTypes() throws {
        XCTAssertEqual(try IndexSpec(parsing: "user: $.user.id integer"), IndexSpec(name: "user", path: path("$.user.id"), type: .integer))
        XCTAssertEqual(try IndexSpec(parsing: "$.price  REAL "), IndexSpec(name: "price", path: path("$.price"), type: .real))
        XCTAssertEqual(try IndexSpec(parsing: "k: $.\"a b\"\tText"), IndexSpec(name: "k", path: path("$.\"a b\""), type: .text))
        // A word inside a quoted step is part of the path.
        XCTAssertEqual(try IndexSpec(parsing: "k: $.\"a integer\""), IndexSpec(name: "k", path: path("$.\"a integer\"")))
        XCTAssertNil(try IndexSpec(parsing: "$.user.id2").type)
        XCTAssertEqual(IndexSpec.ColumnType.integer.declared, "INTEGER")
        let options = try parse("index = 'user: $.user.id integer'", "index = '$.type'")
        XCTAssertEqual(options.indexes.map(\.type), [.integer, nil])
    }
}

final class CollectionNameTests: XCTestCase {
    func testValid() {
        for name in ["events", "_x", "E2", "a_b_c", String(repeating: "a", count: 64)] {
            XCTAssertNoThrow(try CollectionName.validate(name), name)
        }
    }

    func testInvalid() {
        assertShardError(try CollectionName.validate("my-events"), message: "shards: collection name 'my-events' must be "
            + "letters, digits and _ (starting with a letter or _), at most 64 characters")
        for name in ["", "1abc", "a b", "é", "a\"b", String(repeating: "a", count: 65)] {
            assertShardError(try CollectionName.validate(name), "collection name")
        }
    }
}
