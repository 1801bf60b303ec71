import XCTest
@testable import ShardCore

/// Asserts that `body` throws a ShardError whose message starts with "shards: "
/// and contains every one of `parts`.
func assertShardError<T>(_ body: @autoclosure () throws -> T, _ parts: String...,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? ShardError else {
            return XCTFail("not a ShardError: \(error)", file: file, line: line)
        }
        XCTAssertTrue(error.message.hasPrefix("shards: "), error.message, file: file, line: line)
        for part in parts {
            XCTAssertTrue(error.message.contains(part), "'\(error.message)' lacks '\(part)'", file: file, line: line)
        }
    }
}

/// Asserts the exact message.
func assertShardError<T>(_ body: @autoclosure () throws -> T, message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        XCTAssertEqual((error as? ShardError)?.message, message, file: file, line: line)
    }
}
