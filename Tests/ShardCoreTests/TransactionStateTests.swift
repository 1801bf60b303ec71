import ShardCore
import XCTest

final class TransactionStateTests: XCTestCase {
    func testStartsStaleAndOutside() {
        let t = TransactionState()
        XCTAssertEqual(t.phase, .outside)
        XCTAssertTrue(t.catalogStale)
        XCTAssertTrue(t.needsWriteCheck)
        XCTAssertFalse(t.isEnlisted)
    }

    func testFirstWriteOfEachTransactionChecksOnce() {
        var t = TransactionState()
        t.reloaded()
        t.began(autocommit: true)
        XCTAssertTrue(t.needsWriteCheck)
        t.checkedForWrite()
        XCTAssertFalse(t.needsWriteCheck)
        t.committed()
        XCTAssertFalse(t.isEnlisted)
        XCTAssertFalse(t.catalogStale, "a commit leaves memory matching the database")
        t.began(autocommit: true)
        XCTAssertTrue(t.needsWriteCheck, "the next transaction checks again")
    }

    func testFirstBeginDecidesExplicit() {
        var t = TransactionState()
        t.began(autocommit: false)
        XCTAssertEqual(t.phase, .explicit)
        t.began(autocommit: true)   // a flush joining the same transaction
        XCTAssertEqual(t.phase, .explicit)
        XCTAssertTrue(t.isExplicit)
        t.committed()
        t.began(autocommit: true)
        XCTAssertEqual(t.phase, .autocommit)
        XCTAssertFalse(t.isExplicit)
    }

    func testRollbackLeavesMemoryStale() {
        var t = TransactionState()
        t.reloaded()
        t.began(autocommit: false)
        t.checkedForWrite()
        t.rolledBack()
        XCTAssertEqual(t.phase, .outside)
        XCTAssertTrue(t.catalogStale)
        XCTAssertTrue(t.needsWriteCheck)
    }

    func testRollbackToStaysInTransaction() {
        var t = TransactionState()
        t.reloaded()
        t.began(autocommit: false)
        t.checkedForWrite()
        t.rolledBackToSavepoint()
        XCTAssertEqual(t.phase, .explicit)
        XCTAssertTrue(t.catalogStale)
        XCTAssertTrue(t.needsWriteCheck, "stale memory is read again before the next write")
        t.reloaded()
        XCTAssertFalse(t.needsWriteCheck)
    }

    func testOwnSavepointFailureMarksStale() {
        var t = TransactionState()
        t.reloaded()
        t.markStale()
        XCTAssertTrue(t.catalogStale)
    }
}
