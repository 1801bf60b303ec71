import Foundation
import XCTest

/// How the library loads: by file name, through the API pointer, with nothing else.
final class LoadingTests: XCTestCase {
    func testLoadingAddsExactlyTheseFunctionsAndModules() throws {
        let db = try TestDatabase(load: false)
        let functionsBefore = Set(try db.query("SELECT name FROM pragma_function_list").compactMap { $0[0].text })
        let modulesBefore = Set(try db.query("SELECT name FROM pragma_module_list").compactMap { $0[0].text })
        try db.loadExtension()
        let functionsAfter = Set(try db.query("SELECT name FROM pragma_function_list").compactMap { $0[0].text })
        let modulesAfter = Set(try db.query("SELECT name FROM pragma_module_list").compactMap { $0[0].text })
        XCTAssertEqual(functionsAfter.subtracting(functionsBefore),
                       ["shard_insert", "shard_key", "ensure_json_index", "shard_storage", "shards_explain", "shard_flush", "shard_drop", "shard_archive", "shard_compress", "shard_merge", "shard_rollup_refresh", "shards_version", "shards_debug",
                        "shards_distinct", "shards_quantile", "shards_distinct_state", "shards_quantile_state", "shards_distinct_merge", "shards_quantile_merge"])
        XCTAssertEqual(modulesAfter.subtracting(modulesBefore), ["shards", "shard_list", "shards_block", "shards_rollup"])
    }

    func testFunctionFlags() throws {
        let db = try TestDatabase()
        // pragma_function_list flags: 0x800 deterministic, 0x80000 direct-only, 0x200000 innocuous.
        // (A function registered for two argument counts lists a row for each, with the same flags.)
        let flags = Dictionary(try db.query(
            "SELECT name, flags FROM pragma_function_list WHERE name LIKE 'shard%' OR name = 'ensure_json_index'"
        ).map { ($0[0].text!, $0[1].int!) }, uniquingKeysWith: { a, b in a & b })
        for f in ["shard_insert", "ensure_json_index", "shard_storage", "shards_explain", "shard_flush", "shard_drop", "shard_archive", "shard_compress", "shard_merge", "shard_rollup_refresh"] {
            XCTAssertNotEqual(flags[f]! & 0x80000, 0, "\(f) must be SQLITE_DIRECTONLY")
        }
        for f in ["shards_version", "shards_distinct", "shards_quantile", "shards_distinct_state", "shards_quantile_state", "shards_distinct_merge", "shards_quantile_merge"] {
            XCTAssertNotEqual(flags[f]! & 0x800, 0, "\(f) must be SQLITE_DETERMINISTIC")
            XCTAssertNotEqual(flags[f]! & 0x200000, 0, "\(f) must be SQLITE_INNOCUOUS")
        }
    }

    func testVersionAndDebug() throws {
        let db = try TestDatabase()
        XCTAssertEqual(try db.text("SELECT shards_version()"), "0.1.0")
        let debug = try db.text("SELECT shards_debug()") ?? ""
        XCTAssertTrue(debug.contains("shards 0.1.0"))
        XCTAssertTrue(debug.contains("sqlite \(try db.text("SELECT sqlite_version()")!)"))
        XCTAssertTrue(debug.contains("jsonb off"), "system SQLite 3.40 has no JSONB: \(debug)")
    }

    func testLoadingTwiceOnOneConnectionIsHarmless() throws {
        let db = try TestDatabase()
        try db.loadExtension()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(partition = none)")
        XCTAssertEqual(try db.int("SELECT shard_insert('e', '{}') >> 40"), 1)
    }

    func testImportsNoSQLiteSymbols() throws {
        let r = try runCommand("/usr/bin/env", ["nm", "-D", "--undefined-only", extensionPath])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(r.out.contains("sqlite3_"), "the library must call SQLite only through the API pointer:\n\(r.out)")
        let defined = try runCommand("/usr/bin/env", ["nm", "-D", "--defined-only", extensionPath])
        XCTAssertTrue(defined.out.contains("sqlite3_shardext_init"))
    }

    func testLoadsInAnEmptyEnvironmentWithoutSwift() throws {
        let shell = try runCommand("/usr/bin/env", ["sh", "-c", "command -v sqlite3"])
        try XCTSkipIf(shell.status != 0, "no sqlite3 shell")
        let sqlite3 = shell.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let lib = String(extensionPath.dropLast(3))   // by file name, without .so
        let r = try runCommand(sqlite3, [":memory:", ".load \(lib)", "SELECT shards_version();"], environment: [:])
        XCTAssertEqual(r.err, "")
        XCTAssertEqual(r.out, "0.1.0\n")
        let ldd = try runCommand("/usr/bin/env", ["ldd", extensionPath])
        XCTAssertFalse(ldd.out.contains("libswift"), "Swift runtime must be linked statically:\n\(ldd.out)")
        XCTAssertFalse(ldd.out.contains("Foundation"), ldd.out)
    }
}
