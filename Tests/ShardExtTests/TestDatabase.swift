import CSQLite
import Foundation
import XCTest

/// The built extension, loaded exactly as a user would: `SHARDS_LIB` or the
/// release build in this checkout.
let extensionPath: String = {
    if let p = ProcessInfo.processInfo.environment["SHARDS_LIB"] { return p }
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repo.appendingPathComponent(".build/release/libShardExt.so").path
}()

/// Why the release library cannot be tested, if it cannot: `swift test` does not
/// build it (the test target loads it as a user would), so after an edit it would
/// silently test the old one. The library carries the fingerprint of the Sources/
/// it was built from (the SourceStamp plugin); it must be this checkout's. Checked
/// once; every test that loads the library fails with this message.
let staleLibrary: String? = {
    if ProcessInfo.processInfo.environment["SHARDS_LIB"] != nil { return nil }
    let rebuild = "run `swift build -c release` (or scripts/test) before `swift test`"
    guard let lib = dlopen(extensionPath, RTLD_NOW | RTLD_LOCAL) else {
        return "\(extensionPath) cannot be opened (\(String(cString: dlerror()))): \(rebuild)"
    }
    defer { dlclose(lib) }
    guard let symbol = dlsym(lib, "shards_source_stamp") else {
        return "\(extensionPath) has no source fingerprint: \(rebuild)"
    }
    typealias Stamp = @convention(c) () -> UnsafePointer<CChar>
    let built = String(cString: unsafeBitCast(symbol, to: Stamp.self)())
    let current = sourceFingerprint()
    return built == current ? nil : "\(extensionPath) was built from other sources (\(built), the checkout is \(current)): \(rebuild)"
}()

/// FNV-1a 64 over every file under Sources/ (relative path, NUL, bytes, NUL, sorted by
/// path), as Sources/SourceStampTool computes it at build time.
func sourceFingerprint() -> String {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let sources = repo.appendingPathComponent("Sources").path
    var files: [String] = []
    if let walk = FileManager.default.enumerator(atPath: sources) {
        for case let file as String in walk {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: sources + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(file)
            }
        }
    }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            hash ^= UInt64(b)
            hash &*= 0x100_0000_01b3
        }
    }
    for file in files.sorted() {
        mix(file.utf8)
        mix([0])
        mix(FileManager.default.contents(atPath: sources + "/" + file) ?? Data())
        mix([0])
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// An SQL value as the tests compare them.
enum Value: Equatable, CustomStringConvertible {
    case null, int(Int64), real(Double), text(String), blob([UInt8])

    var description: String {
        switch self {
        case .null: "NULL"
        case .int(let v): String(v)
        case .real(let v): String(v)
        case .text(let s): "'\(s)'"
        case .blob(let b): "x'\(b.map { String(format: "%02x", $0) }.joined())'"
        }
    }

    var int: Int64? { if case .int(let v) = self { v } else { nil } }
    var text: String? { if case .text(let s) = self { s } else { nil } }
}

struct SQLFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { "SQLite error \(code): \(message)" }
}

/// A connection opened through the system libsqlite3 with the extension loaded.
final class TestDatabase {
    let handle: OpaquePointer
    let path: String

    /// Opens `path` (a temp file by default) and loads the extension unless told not to.
    init(path: String? = nil, load: Bool = true) throws {
        self.path = path ?? TestDatabase.temporaryPath()
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(self.path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nil)
        guard rc == SQLITE_OK, let h else { throw SQLFailure(code: rc, message: "cannot open \(self.path)") }
        handle = h
        sqlite3_busy_timeout(h, 5000)
        if load { try loadExtension() }
    }

    static func temporaryPath() -> String {
        NSTemporaryDirectory() + "shards-test-\(UUID().uuidString).db"
    }

    func loadExtension() throws {
        if let staleLibrary { throw SQLFailure(code: SQLITE_ERROR, message: staleLibrary) }
        sqlite3_enable_load_extension(handle, 1)
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_load_extension(handle, extensionPath, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "?"
            sqlite3_free(err)
            throw SQLFailure(code: rc, message: "load \(extensionPath): \(msg)")
        }
    }

    deinit { sqlite3_close_v2(handle) }

    func close() { sqlite3_close_v2(handle) }

    /// Runs one or more statements, returning the rows of the last one.
    @discardableResult
    func query(_ sql: String, _ args: [Value] = []) throws -> [[Value]] {
        var rows: [[Value]] = []
        var rest = sql
        while true {
            var stmt: OpaquePointer?
            var tailOffset = 0
            let rc = rest.withCString { base -> Int32 in
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(handle, base, -1, &stmt, &tail)
                if let tail { tailOffset = tail - base }
                return rc
            }
            if rc != SQLITE_OK { throw SQLFailure(code: rc, message: String(cString: sqlite3_errmsg(handle))) }
            let remaining = String(rest.utf8.dropFirst(tailOffset))!
            guard let stmt else {
                if remaining.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return rows }
                rest = remaining
                continue
            }
            defer { sqlite3_finalize(stmt) }
            for (i, a) in args.enumerated() where sqlite3_bind_parameter_count(stmt) > i {
                bind(stmt, Int32(i + 1), a)
            }
            rows = []
            while true {
                let s = sqlite3_step(stmt)
                if s == SQLITE_DONE { break }
                guard s == SQLITE_ROW else {
                    throw SQLFailure(code: s, message: String(cString: sqlite3_errmsg(handle)))
                }
                rows.append((0..<sqlite3_column_count(stmt)).map { column(stmt, $0) })
            }
            if remaining.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return rows }
            rest = remaining
        }
    }

    func exec(_ sql: String, _ args: [Value] = []) throws { try query(sql, args) }

    func scalar(_ sql: String, _ args: [Value] = []) throws -> Value {
        try query(sql, args).first?.first ?? .null
    }

    func int(_ sql: String, _ args: [Value] = []) throws -> Int64 {
        let v = try scalar(sql, args)
        guard let i = v.int else { throw SQLFailure(code: 0, message: "not an integer: \(v) from \(sql)") }
        return i
    }

    func text(_ sql: String, _ args: [Value] = []) throws -> String? {
        try scalar(sql, args).text
    }

    /// Asserts that `sql` fails with a message containing `fragment`.
    func expectError(_ sql: String, _ args: [Value] = [], contains fragment: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            try exec(sql, args)
            XCTFail("expected an error containing '\(fragment)' from: \(sql)", file: file, line: line)
        } catch let e as SQLFailure {
            XCTAssertTrue(e.message.contains(fragment), "error '\(e.message)' lacks '\(fragment)'", file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    private func bind(_ stmt: OpaquePointer?, _ i: Int32, _ v: Value) {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        switch v {
        case .null: sqlite3_bind_null(stmt, i)
        case .int(let x): sqlite3_bind_int64(stmt, i, x)
        case .real(let x): sqlite3_bind_double(stmt, i, x)
        case .text(let s): sqlite3_bind_text(stmt, i, s, -1, transient)
        case .blob(let b): sqlite3_bind_blob(stmt, i, b, Int32(b.count), transient)
        }
    }

    private func column(_ stmt: OpaquePointer?, _ i: Int32) -> Value {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, i))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(stmt, i)))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}

/// Runs a command and returns its standard output and exit status.
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (out: String, err: String, status: Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
}

/// The integers a...b as a subquery: the system libsqlite3 has no generate_series.
func series(_ a: Int, _ b: Int) -> String {
    "(WITH RECURSIVE s(value) AS (SELECT \(a) UNION ALL SELECT value + 1 FROM s WHERE value < \(b)) SELECT value FROM s)"
}
