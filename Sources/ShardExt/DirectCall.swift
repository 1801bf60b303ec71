import CShardShim
import ShardCore

/// The side-effecting functions (`SQLITE_DIRECTONLY`) may run only from SQL the
/// application itself runs, never from the schema of a database it opens. SQLite
/// enforces that for triggers, views, DEFAULT, generated columns and indexes, and
/// from 3.50 for CHECK constraints too. Before 3.50 it marks a call in a CHECK
/// constraint as coming from the schema only for DETERMINISTIC functions, so a
/// database's own `CHECK(shard_insert(...))` runs the function at every write to its
/// table, trusted_schema off and defensive mode on or not.
///
/// There, before such a function runs, one of the connection's running statements
/// must name it in its own text (`SQLText.mentions`): the statement the application
/// wrote. A CHECK constraint's call runs inside the application's INSERT or UPDATE
/// of that table, whose text does not name the function, and is refused with
/// SQLite's own words. What stays open on those versions: a statement that names the
/// function (in a call, a comment or a string) and also writes a table whose CHECK
/// calls it (docs/safety-checks.md). A TEMP trigger or view the application made
/// itself, which SQLite lets call the functions, is refused there too.
enum DirectCall {
    /// The first SQLite that refuses DIRECTONLY functions in CHECK constraints itself.
    static let checkGuardedFrom: Int32 = 3_050_000

    /// Throws SQLite's "unsafe use of <name>()" when no running statement of `db` names
    /// the function (on SQLite before 3.50 only). `ctx` is the call's: a call site
    /// that holds auxdata of ours (shard_insert keeps its INSERT there) passed this
    /// check at an earlier row of its statement, so a bulk `SELECT shard_insert(...)
    /// FROM ...` walks the connection's statements once, not at every row.
    static func require(_ ctx: OpaquePointer?, _ db: Database, function name: String) throws {
        guard sqliteVersionNumber < checkGuardedFrom, api.pointee.get_auxdata(ctx, 0) == nil else { return }
        var stmt = api.pointee.next_stmt(db.handle, nil)
        while let s = stmt {
            if api.pointee.stmt_busy(s) != 0, let sql = api.pointee.sql(s) {
                var n = 0
                while sql[n] != 0 { n += 1 }
                if SQLText.mentions(UnsafeRawBufferPointer(start: sql, count: n), name) { return }
            }
            stmt = api.pointee.next_stmt(db.handle, s)
        }
        throw ShardError("unsafe use of \(name)(): before SQLite 3.50 it runs only from a statement that names "
            + "it, not from a CHECK constraint, trigger or view")
    }
}
