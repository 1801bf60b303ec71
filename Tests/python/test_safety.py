"""Safety repros (issue 9): no SQL input crashes the host, loses an acknowledged row
or reaches outside its database. Run from the repository root after
`swift build -c release`:

    .venv/bin/python Tests/python/test_safety.py [case-name ...]

Every case runs in a child process of its own (so a crash is a failure, not the
end of the run), once on each host: apsw (its bundled SQLite, 3.54 here) and the
system libsqlite3 (3.40 here) through its C API (see engines.py). A case passes
when its child exits normally after all its checks. Prints one line per case and
host, then `N passed, M failed`; exits 1 on any failure.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402
from engines import SQLError  # noqa: E402

ROOT = engines.ROOT
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Failure(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failure(what)


def expect_error(conn, sql, contains, params=()):
    try:
        rows = conn.execute(sql, params)
    except SQLError as e:
        check(contains.lower() in e.message.lower(), f"{sql[:80]!r}: error {e.message!r}, wanted {contains!r}")
        return e.message
    raise Failure(f"{sql[:80]!r} did not fail (wanted {contains!r}), rows {rows[:3]!r}")


def one(conn, sql, params=()):
    rows = conn.execute(sql, params)
    return rows[0][0] if rows else None


S = "CREATE VIRTUAL TABLE ev USING shards(time='$.ts', max_rows=2, index='$.type');" \
    "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-01-05\",\"type\":\"a\"}');"


def doc(day, type_="a", month=1, year=2025, **extra):
    d = {"ts": f"{year:04d}-{month:02d}-{day:02d}", "type": type_, **extra}
    import json
    return json.dumps(d)


# MARK: - crashes

@case
def c1_nested_explain(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    expect_error(conn, "SELECT shards_explain('ev', 'SELECT shards_explain(''ev'', ''SELECT 1'')')", "shards_explain")
    # Writes are refused, whatever they touch: the collection, its catalog, a plain table.
    conn.execute("CREATE TABLE t(x)")
    for sql in ["UPDATE ev_config SET value = 99 WHERE key = ''next_number''", "INSERT INTO t VALUES (1)",
                "DELETE FROM ev", "CREATE TABLE u(x)", "PRAGMA user_version = 7"]:
        expect_error(conn, f"SELECT shards_explain('ev', '{sql}')", "read-only")
    check(one(conn, "SELECT value FROM ev_config WHERE key = 'next_number'") != "99", "catalog untouched")
    check(one(conn, "SELECT count(*) FROM t") == 0, "table untouched")
    expect_error(conn, "SELECT shards_explain('ev', 'SELECT 1; DELETE FROM t')", "one statement")
    out = one(conn, "SELECT shards_explain('ev', 'SELECT count(*) FROM ev')")
    check("rows: 1" in out, out)


@case
def c2_trigger_reenters_shard_write(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    table = one(conn, "SELECT tbl FROM shard_list('ev')")
    conn.execute(f"CREATE TRIGGER again AFTER INSERT ON \"{table}\" BEGIN "
                 "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-01-06\",\"type\":\"b\"}'); END")
    expect_error(conn, f"INSERT INTO ev(doc) VALUES ('{doc(6)}')", "re-enter")
    expect_error(conn, f"INSERT INTO \"{table}\"(id, ts, doc) VALUES (2, 0, '{{}}')", "re-enter")
    conn.execute("DROP TRIGGER again")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(7)}')")
    check(one(conn, "SELECT count(*) FROM ev") == 2, "the collection still works")


def zstd_rle_frame(claimed, block_bytes=1 << 17):
    """A zstd frame of RLE blocks: tiny, and claiming (and really producing) `claimed` bytes."""
    out = struct.pack("<I", 0xFD2FB528) + bytes([0xE0]) + struct.pack("<Q", claimed)
    left = claimed
    while left > 0:
        n = min(left, block_bytes)
        left -= n
        out += struct.pack("<I", (1 if left == 0 else 0) | (1 << 1) | (n << 3))[:3] + b"x"
    return out


@case
def c3_block_claiming_a_gigabyte(E, folder):
    conn = E.open_(":memory:")
    frame = zstd_rle_frame(1 << 30)
    check(len(frame) < 40000, f"frame is {len(frame)} bytes")
    expect_error(conn, "SELECT count(*) FROM shards_block(?)", "block", (frame,))
    # Under a heap limit, a frame below the maximum that does not fit is an error too.
    conn.execute("PRAGMA hard_heap_limit = 8000000")
    expect_error(conn, "SELECT count(*) FROM shards_block(?)", "memory", (zstd_rle_frame(12 << 20),))
    conn.execute("PRAGMA hard_heap_limit = 0")
    # A view calling it (shards_block is innocuous): the same bound.
    conn.execute("CREATE VIEW v AS SELECT * FROM shards_block(x'" + frame.hex() + "')")
    expect_error(conn, "SELECT count(*) FROM v", "block")


@case
def c4_catalog_at_integer_limits(E, folder):
    big, small = 9223372036854775807, -9223372036854775808
    tampering = [
        ("UPDATE ev_config SET value = %d WHERE key = 'next_number'" % big, doc(5, month=2)),
        ("UPDATE ev_shards SET rows = %d" % big, doc(6)),
        ("UPDATE ev_shards SET rows = %d" % small, "DELETE"),
        ("UPDATE ev_shards SET seq = %d" % big, doc(6)),
        ("UPDATE ev_shards SET last_local = %d" % big, doc(6)),
        ("UPDATE ev_shards SET num = %d" % big, doc(6)),
        ("UPDATE ev_shards SET num = -1", doc(6)),
        ("UPDATE ev_shards SET min_ts = %d, max_ts = %d" % (big, small), doc(6)),
    ]
    for i, (tamper, action) in enumerate(tampering):
        conn = E.open_(os.path.join(folder, f"db{i}"))
        conn.execute(S)
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(5)}')")
        conn.execute(tamper)
        conn.close()
        conn = E.open_(os.path.join(folder, f"db{i}"))
        for sql in ([f"INSERT INTO ev(doc) VALUES ('{action}')"] if action != "DELETE" else ["DELETE FROM ev"]) + \
                ["SELECT count(*) FROM ev", "SELECT * FROM shard_list('ev')", "SELECT shard_compress('ev', '2026-01-01')"]:
            try:
                conn.execute(sql)
            except SQLError as e:
                check("catalog of 'ev' is inconsistent" in e.message or "shard numbers" in e.message,
                      f"{tamper}: {sql}: {e.message}")
        conn.close()


# MARK: - lost or wrong data

@case
def d1_close_never_drops_buffered_rows_silently(E, folder):
    log = []
    E.capture_log(log)
    path = os.path.join(folder, "db")
    conn = E.open_(path)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', buffer=100); CREATE TABLE t(x)")
    for d in range(1, 6):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    # Closed inside its own write transaction (issue 18, D1): no stall, that transaction
    # is rolled back, and the acknowledged documents are written once SQLite let go of
    # the handle, with nothing logged.
    conn.execute("BEGIN; INSERT INTO t VALUES (1)")
    started = time.time()
    conn.close()
    check(time.time() - started < 1.5, f"close took {time.time() - started:.1f}s")
    check(not any("lost" in m for _, m in log), f"log {log}")
    after = E.open_(path)
    check(one(after, "SELECT count(*) FROM ev") == 5, "the 5 acknowledged documents are there")
    check(one(after, "SELECT sum(rows) FROM shard_list('ev')") == 5, "and counted in the catalog")
    check(one(after, "SELECT count(*) FROM t") == 0, "the open transaction was rolled back")
    after.execute("DELETE FROM ev")
    after.close()
    # Another writer holds the lock longer than the close waits: a bounded wait, then the log.
    other = E.open_(path)
    conn = E.open_(path)
    for d in range(6, 9):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    other.execute("BEGIN IMMEDIATE")
    started = time.time()
    conn.close()
    took = time.time() - started
    other.execute("ROLLBACK")
    check(1.5 < took < 4, f"close waited {took:.1f}s")
    check(any("3 buffered documents of 'ev'" in m for _, m in log), f"log {log}")
    check(one(other, "SELECT count(*) FROM ev") == 0, "nothing half-written")
    # The lock comes free within the wait: the rows are written.
    conn = E.open_(path)
    for d in range(9, 12):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    # (another process holds it: a thread of this one might wait for the closing call)
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time\n"
                               "c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE')\n"
                               "print('locked', flush=True); time.sleep(0.5); c.execute('ROLLBACK')", path],
                              stdout=subprocess.PIPE, text=True)
    check(holder.stdout.readline().strip() == "locked", "the other process holds the lock")
    conn.close()
    holder.wait()
    check(one(other, "SELECT count(*) FROM ev") == 3, "written once the lock came free")
    check(one(other, "SELECT sum(rows) FROM shard_list('ev')") == 3, "catalog counts them")
    # Acknowledged rows that a transaction writes (at its COMMIT) survive a close.
    conn = E.open_(path)
    for d in range(12, 14):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    conn.execute(f"BEGIN; INSERT INTO ev(doc) VALUES ('{doc(14)}'); COMMIT")
    conn.close()
    check(one(other, "SELECT count(*) FROM ev") == 6, "written at COMMIT")


@case
def d2_reserved_ids_not_reused_after_compress(E, folder):
    path = os.path.join(folder, "db")
    conn = E.open_(path)
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', buffer=10)")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(3)}')")
    check(one(conn, "SELECT shard_compress('ev', '2025-02-01')") == 1, "compressed January")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(3, month=3)}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(4)}')")
    check(one(conn, "SELECT count(*) FROM ev") == 3, "three rows")
    ids = [r[0] for r in conn.execute("SELECT id FROM ev")]
    check(len(set(ids)) == 3, f"distinct ids {ids}")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(5)}')")
    conn.close()
    conn = E.open_(path)
    check(one(conn, "SELECT count(*) FROM ev") == 4, "all four after close")


@case
def d3_compress_inside_transaction_then_failing_statement(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', max_rows=2, index='$.type')")
    conn.execute("BEGIN")
    for d in range(1, 6):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=2)}')")
    check(one(conn, "SELECT shard_compress('ev', '2025-02-01')") == 5, "compressed")
    expect_error(conn, "DELETE FROM ev WHERE ts > 0", "read-only")
    conn.execute("COMMIT")
    check(one(conn, "SELECT count(*) FROM ev WHERE ts > 0") == 6, "count after commit")
    check(one(conn, "SELECT sum(rows) FROM shard_list('ev')") == 6, "catalog rows")
    for d in range(2, 5):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d, month=2)}')")
    check(one(conn, "SELECT count(*) FROM ev") == 9, "later inserts")


@case
def d4_lifecycle_functions_roll_back(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(6)}'); INSERT INTO ev(doc) VALUES ('{doc(7)}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=3)}')")
    for fn in ["shard_drop('ev', '2025-02-01')", "shard_compress('ev', '2025-02-01')",
               "shard_archive('ev', '2025-02-01', 'cold.db')"]:
        for end in ["ROLLBACK", "ROLLBACK TO s"]:
            conn.execute("BEGIN; SAVEPOINT s")
            check(one(conn, f"SELECT {fn}") == 3, fn)
            check(one(conn, "SELECT count(*) FROM ev") == (1 if "drop" in fn else 4), f"{fn}: inside")
            conn.execute(end)
            if end != "ROLLBACK":
                conn.execute("COMMIT")
            check(one(conn, "SELECT count(*) FROM ev") == 4, f"{fn} then {end}: count")
            check(one(conn, "SELECT count(*) FROM ev WHERE type = 'a'") == 4, f"{fn} then {end}: by index")
            check(one(conn, "SELECT count(*) FROM shard_list('ev') WHERE shard LIKE 'ev:2025:01%' AND state IN ('sealed', 'hot')")
                  == one(conn, "SELECT count(*) FROM shard_list('ev') WHERE shard LIKE 'ev:2025:01%'") >= 1,   # January's splits may be merged
                  f"{fn} then {end}: states {conn.execute('SELECT shard, state FROM shard_list(?)', ('ev',))}")
            conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(8)}')")
            conn.execute("DELETE FROM ev WHERE ts = (SELECT max(ts) FROM ev WHERE ts < 1738368000000)")
            check(one(conn, "SELECT count(*) FROM ev") == 4, f"{fn} then {end}: writes")


@case
def rolled_back_archive_keeps_the_archived_copy(E, folder):
    """Found by the fuzz harness: a shard's table name comes back after its period was
    dropped; an archive written in a transaction that then rolled back must not replace
    the copy of the shard the catalog still lists."""
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', index='$.type')")
    for d in range(1, 6):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d, month=2)}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=4)}')")
    check(one(conn, "SELECT shard_archive('ev', '2025-03-01', 'cold.db')") == 5, "archived")
    conn.execute("BEGIN")
    check(one(conn, "SELECT shard_drop('ev', '2025-03-01')") == 5, "dropped inside")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(9, 'other', month=2)}')")
    check(one(conn, "SELECT shard_archive('ev', '2025-03-01', 'cold.db')") == 1, "the new February archived")
    conn.execute("ROLLBACK")
    check(one(conn, "SELECT count(*) FROM ev") == 6, "all rows back")
    check(one(conn, "SELECT count(*) FROM ev WHERE type = 'a' AND ts < 1740787200000") == 5, "the archived copy is intact")
    check(one(conn, "SELECT sum(rows) FROM shard_list('ev')") == 6, "catalog agrees")


@case
def d5_archive_onto_itself_or_memory(E, folder):
    path = os.path.join(folder, "self.db")
    conn = E.open_(path)
    conn.execute(S)
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=3)}')")
    for target in ["self.db", "./self.db", ":memory:", "file:cold.db", "file::memory:", ""]:
        expect_error(conn, f"SELECT shard_archive('ev', '2025-02-01', '{target}')", "archive")
    check(one(conn, "SELECT count(*) FROM ev") == 2, "nothing moved")
    check(one(conn, "PRAGMA integrity_check") == "ok", "intact")


@case
def d6_two_databases_one_archive(E, folder):
    a = E.open_(os.path.join(folder, "a.db"))
    b = E.open_(os.path.join(folder, "b.db"))
    for conn, t in [(a, "a"), (b, "b")]:
        conn.execute(S.replace("\"type\":\"a\"", f"\"type\":\"{t}\""))
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=3)}')")
    check(one(a, "SELECT shard_archive('ev', '2025-02-01', 'events-cold.db')") == 1, "a archives")
    expect_error(b, "SELECT shard_archive('ev', '2025-02-01', 'events-cold.db')", "belongs to")
    check(one(a, "SELECT group_concat(type) FROM ev") == "a,a", "a reads its own rows")
    check(one(b, "SELECT count(*) FROM ev") == 2, "b kept its rows")
    # Another collection of the same database cannot share it either.
    a.execute("CREATE VIRTUAL TABLE ev2 USING shards(time='$.ts'); INSERT INTO ev2(doc) VALUES ('{\"ts\":\"2025-01-01\"}')")
    expect_error(a, "SELECT shard_archive('ev2', '2025-02-01', 'events-cold.db')", "belongs to")


@case
def d7_limit_only_when_every_term_is_handled(E, folder):
    conn = E.open_(":memory:")
    conn.execute(S)
    for d in range(2, 9):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    for where in ["shard LIKE '%002'", "shard GLOB '*002'", "shard LIKE 'ev:2025:01:00_' AND id > 0",
                  "shard = 'ev:2025:01:002'", "shard IN ('ev:2025:01:002', 'ev:2025:01:003')"]:
        for tail in ["LIMIT 1", "ORDER BY id LIMIT 1", "ORDER BY ts DESC LIMIT 1", "LIMIT 1 OFFSET 1",
                     "ORDER BY id LIMIT 2 OFFSET 1"]:
            full = [r[0] for r in conn.execute(f"SELECT id FROM ev WHERE {where} {tail.split('LIMIT')[0]}")]
            got = [r[0] for r in conn.execute(f"SELECT id FROM ev WHERE {where} {tail}")]
            limit = int(tail.split("LIMIT")[1].split()[0])
            offset = int(tail.split("OFFSET")[1]) if "OFFSET" in tail else 0
            want = full[offset:offset + limit]
            check(len(got) == len(want) and (got == want or "ORDER" not in tail), f"{where} {tail}: {got} vs {want}")


@case
def d8_blocks_split_by_bytes_and_bounded(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts')")
    pad = "x" * 300_000
    for d in range(1, 11):
        conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(d, pad=pad),))
    check(one(conn, "SELECT shard_compress('ev', '2025-02-01')") == 10, "compressed")
    blocks = one(conn, "SELECT count(*) FROM \"" + one(conn, "SELECT tbl FROM shard_list('ev')") + "-z\"")
    check(blocks >= 3, f"10 documents of 300 KB make {blocks} blocks")
    check(one(conn, "SELECT count(*) FROM ev WHERE length(doc) > 300000") == 10, "read back")
    # One document larger than a block may ever be: compression refuses, nothing changes.
    conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(1, month=2, pad="y" * (17 << 20)),))
    expect_error(conn, "SELECT shard_compress('ev', '2025-03-01')", "too large")
    check(one(conn, "SELECT state FROM shard_list('ev') WHERE shard LIKE 'ev:2025:02%'") != "compressed", "left alone")
    check(one(conn, "SELECT length(doc) > (17 << 20) FROM ev WHERE ts >= 1738368000000") == 1, "still readable")


@case
def d9_far_future_document_does_not_drop_everything(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', retain='30 days')")
    for d in range(1, 4):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    conn.execute("INSERT INTO ev(doc) VALUES ('{\"ts\":\"9025-01-15\"}')")
    check(one(conn, "SELECT count(*) FROM ev") == 4, "nothing dropped by a far-future period")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=6)}')")
    check(one(conn, "SELECT count(*) FROM ev WHERE ts < 1738368000000") == 0, "a real new period still applies retain")
    check(one(conn, "SELECT count(*) FROM ev") == 2, "future row and June row")


@case
def d10_drop_table_drops_only_catalog_tables(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE evc USING shards(partition=none); INSERT INTO evc(doc) VALUES ('{}')")
    table = one(conn, "SELECT tbl FROM shard_list('evc')")
    for mine in [table + "_z", table + "z", "evc_001_z", "evc_shards2"]:
        conn.execute(f"CREATE TABLE IF NOT EXISTS \"{mine}\"(x)")
    conn.execute("DROP TABLE evc")
    left = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"))
    check(left == sorted({table + "_z", table + "z", "evc_001_z", "evc_shards2"}), f"left {left}")


# MARK: - escapes

@case
def e1_archive_paths_and_permissions(E, folder):
    os.makedirs(os.path.join(folder, "sub"))
    conn = E.open_(os.path.join(folder, "sub", "db"))
    conn.execute(S)
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=3)}')")
    for target in ["/tmp/x.db", os.path.join(folder, "x.db"), "../x.db", "a/../../x.db", "a//x.db", "a\\..\\x.db"]:
        expect_error(conn, f"SELECT shard_archive('ev', '2025-02-01', '{target}')", "archive file")
    check(not os.path.exists(os.path.join(folder, "x.db")), "nothing written outside")
    c2 = E.open_(os.path.join(folder, "sub", "db"))
    c2.limit_attached(0)
    expect_error(c2, "SELECT shard_archive('ev', '2025-02-01', 'cold.db')", "attach")
    c3 = E.open_(os.path.join(folder, "sub", "db"))
    c3.deny_attach()
    expect_error(c3, "SELECT shard_archive('ev', '2025-02-01', 'cold.db')", "not authorized")
    check(not os.path.exists(os.path.join(folder, "sub", "cold.db")), "no archive file made")
    os.makedirs(os.path.join(folder, "sub", "cold"))
    check(one(conn, "SELECT shard_archive('ev', '2025-02-01', 'cold/jan.db')") == 1, "a folder below is fine")
    check(os.path.exists(os.path.join(folder, "sub", "cold", "jan.db")), "where documented")
    check(one(conn, "SELECT count(*) FROM ev") == 2, "readable")


@case
def e4_catalog_file_cannot_point_elsewhere(E, folder):
    other = E.open_(os.path.join(folder, "other.db"))
    other.execute(S)
    table = one(other, "SELECT tbl FROM shard_list('ev')")
    other.close()
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=3)}')")
    check(one(conn, "SELECT shard_archive('ev', '2025-02-01', 'cold.db')") == 1, "archived")
    for file in ["other.db", "/etc/passwd", "../other.db"]:
        conn.execute("UPDATE ev_shards SET file = ? WHERE file IS NOT NULL", (file,))
        fresh = E.open_(os.path.join(folder, "db"))
        expect_error(fresh, "SELECT count(*) FROM ev", "archive")
        fresh.close()
    conn.execute("UPDATE ev_shards SET file = 'cold.db' WHERE file IS NOT NULL")
    check(table is not None, "other has a table of that name")


@case
def e2_defensive_mode_guards_every_table_at_every_moment(E, folder):
    path = os.path.join(folder, "db")
    conn = E.open_(path)
    conn.execute(S.replace("max_rows=2", "max_rows=2, category='$.app'"))
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(2, app='a_b')}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(3, month=2)}'); SELECT shard_compress('ev', '2025-02-01')")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'ev\\_%' ESCAPE '\\'")]
    check(len(tables) >= 4 and any(t.endswith("-z") for t in tables), f"tables {tables}")
    conn.close()

    old_sqlite = tuple(map(int, E.version().split(".")[:2])) < (3, 45)

    def attacks(c, tables):
        for t in tables:
            q = '"' + t + '"'
            for sql in [f"DELETE FROM {q}", f"UPDATE {q} SET rowid = rowid", f"DROP TABLE {q}",
                        f"CREATE TRIGGER tr AFTER INSERT ON {q} BEGIN SELECT 1; END",
                        f"CREATE INDEX ix ON {q}(rowid)", f"ALTER TABLE {q} RENAME TO gone"]:
                try:
                    c.execute(sql)
                except SQLError:
                    continue
                if sql.startswith("CREATE TRIGGER") and old_sqlite:
                    # SQLite 3.40 lets a trigger be made on a shadow table (newer ones do
                    # not); such a trigger still cannot write one.
                    c.execute("DROP TRIGGER tr")
                    continue
                raise Failure(f"defensive mode let through: {sql}")
        for sql in ["SELECT shards_explain('ev', 'UPDATE ev_config SET value = 1')",
                    "CREATE TABLE \"ev_2025-09-001\"(x)", "CREATE TABLE \"ev_x-2025-09-001\"(x)"]:
            expect_error(c, sql, "")

    # Before the collection connects: a fresh connection, nothing has touched ev yet.
    fresh = E.open_(path)
    fresh.defensive()
    attacks(fresh, tables)
    # After: the collection is in use, and a shard table made in this session too.
    check(one(fresh, "SELECT count(*) FROM ev") == 3, "reads under defensive mode")
    fresh.execute(f"INSERT INTO ev(doc) VALUES ('{doc(3, month=3, app='z')}')")
    made = [r[0] for r in fresh.execute("SELECT name FROM sqlite_schema WHERE name LIKE '%2025-03%' AND type = 'table'")]
    check(len(made) == 1, f"made {made}")
    attacks(fresh, tables + made)
    if tuple(map(int, E.version().split(".")[:2])) >= (3, 37):
        kinds = {r[1]: r[2] for r in fresh.execute("PRAGMA table_list") if r[0] == "main"}
        check(all(kinds.get(t) == "shadow" for t in tables + made), f"table_list: {kinds}")
    # The collection's own work still goes through.
    check(one(fresh, "SELECT shard_compress('ev', '2025-03-01')") >= 1, "compress under defensive mode")
    check(one(fresh, "SELECT shard_drop('ev', '2025-02-01')") >= 1, "drop under defensive mode")
    check(one(fresh, "SELECT count(*) FROM ev") >= 1, "reads after")
    check(one(fresh, "PRAGMA integrity_check") == "ok", "intact")
    fresh.execute("DROP TABLE ev")
    check(one(fresh, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'ev%'") == 0, "DROP TABLE under defensive mode")


@case
def e3_rollup_prefix_guarded_and_checked(E, folder):
    """A rollup's prefix of the hot shard (docs/rollups.md): defensive mode refuses
    every write to its shadow tables, and a prefix tampered with (defensive mode off)
    gives the right answer or an error, never a wrong answer."""
    path = os.path.join(folder, "db")
    conn = E.open_(path)
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', partition=day);"
                 "CREATE VIRTUAL TABLE r USING shards_rollup(source=ev, group='$.type', measure='n: count', measure='v: sum($.v)')")
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1099) "
                 "INSERT INTO ev(doc) SELECT json_object('ts', 1736121600000 + i * 1000, 'type', 't' || (i % 5), 'v', i) FROM n")
    check(one(conn, "SELECT count(*) FROM r_prefix") == 1, "a prefix was written")
    rollup = "SELECT bucket_ms, type, n, v FROM r ORDER BY 1, 2"
    group_by = ("SELECT ts - ts % 86400000, json_extract(doc, '$.type'), count(*), sum(json_extract(doc, '$.v')) "
                "FROM ev GROUP BY 1, 2 ORDER BY 1, 2")
    reader = E.open_(path)
    check(reader.execute(rollup) == conn.execute(group_by), "the reader's answer")
    reader.close()
    conn.close()
    for i, tamper in enumerate(["UPDATE r_prefix SET bound = bound - 1", "UPDATE r_prefix SET bound = bound + 5",
                                "UPDATE r_prefix SET bound = 'x'", "UPDATE r_prefix SET rows = rows + 1",
                                "UPDATE r_prefix SET rows = 0", "UPDATE r_built SET stamp = stamp - 1",
                                "UPDATE r_partials SET n = n + 1 WHERE rowid = 1", "DELETE FROM r_partials WHERE rowid = 1",
                                "UPDATE r_prefix SET shard = shard + 1", "DELETE FROM r_built"]):
        copy = os.path.join(folder, f"t{i}.db")
        shutil.copy(path, copy)
        c = E.open_(copy)
        c.execute(tamper)
        want = c.execute(group_by)
        c.close()
        other = E.open_(copy)
        try:
            got = other.execute(rollup)
            check(got == want, f"{tamper}: a wrong answer {got[:3]}")
        except SQLError:
            pass   # an error is allowed
        other.close()

    fresh = E.open_(path)
    fresh.defensive()
    for t in ("r_prefix", "r_partials", "r_built"):
        for sql in [f"DELETE FROM {t}", f"UPDATE {t} SET rowid = rowid", f"DROP TABLE {t}", f"INSERT INTO {t} DEFAULT VALUES"]:
            try:
                fresh.execute(sql)
            except SQLError:
                continue
            raise Failure(f"defensive mode let through: {sql}")
    check(fresh.execute(rollup) == fresh.execute(group_by), "answers under defensive mode")
    fresh.execute("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1099) "
                  "INSERT INTO ev(doc) SELECT json_object('ts', 1736122800000 + i * 1000, 'type', 'u', 'v', i) FROM n")
    check(one(fresh, "SELECT rows FROM r_prefix") == 2048, "the prefix moved on under defensive mode")
    check(fresh.execute(rollup) == fresh.execute(group_by), "answers after")
    fresh.execute("DROP TABLE r")
    check(one(fresh, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'r!_%' ESCAPE '!'") == 0, "DROP TABLE takes the prefix")


# MARK: - unbounded

@case
def h1_ts_in_is_linear(E, folder):
    conn = E.open_(":memory:")
    conn.execute(S)
    times = []
    for n in (20_000, 80_000):
        marks = ",".join(str(1735689600000 + i) for i in range(n))
        started = time.time()
        conn.execute(f"SELECT count(*) FROM ev WHERE ts IN ({marks})")
        times.append(time.time() - started)
    check(times[1] < 3.0, f"80,000 values took {times[1]:.2f}s")
    check(times[1] < 8 * times[0] + 0.3, f"4x the values took {times[1] / max(times[0], 1e-3):.1f}x the time")


@case
def h3_limit_is_bound(E, folder):
    conn = E.open_(":memory:")
    conn.execute(S)
    for n in (3, 4, 5):
        out = one(conn, f"SELECT shards_explain('ev', 'SELECT id FROM ev ORDER BY ts LIMIT {n}')")
        check(f"LIMIT {n}" not in out and "LIMIT +?" in out, out)
    for d in range(2, 9):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    check([r[0] for r in conn.execute("SELECT ts FROM ev ORDER BY ts DESC LIMIT 2 OFFSET 1")] ==
          [r[0] for r in conn.execute("SELECT ts FROM ev ORDER BY ts DESC")][1:3], "limit and offset")


@case
def h4_scan_does_not_see_its_own_inserts(E, folder):
    for options in ["", ", buffer=3"]:
        conn = E.open_(os.path.join(folder, f"db{len(options)}"))
        conn.execute(S.replace("index='$.type'", "index='$.type'" + options))
        for d in range(2, 6):
            conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
        check(one(conn, "SELECT count(shard_insert('ev', doc)) FROM ev") == 5, f"{options}: one pass")
        check(one(conn, "SELECT count(*) FROM ev") == 10, f"{options}: doubled")


# MARK: - long IN lists and tampered catalogs (issue 18)

@case
def i2_in_lists_above_the_variable_limit(E, folder):
    import json
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', max_rows=3, index='$.type', index='$.n')")
    docs = [doc(d, t, n=n) for d, t, n in [(1, "a", 1), (2, "b", 2.5), (3, "c", 3), (4, "d\"q", 4), (5, "é", 5)]]
    for d in docs:
        conn.execute("INSERT INTO ev(doc) VALUES (?)", (d,))
    rows = conn.execute("SELECT id, ts, type, n FROM ev ORDER BY id")
    ids, tss = [r[0] for r in rows], [r[1] for r in rows]
    check(len(rows) == 5, f"rows {rows}")
    big = 40_000
    # Literals above SQLite's variable limit (32,766), with the rows' own values among them.
    ts_list = ",".join(str(t) for t in tss[:3]) + "," + ",".join(str(1_600_000_000_000 + i) for i in range(big))
    check(one(conn, f"SELECT count(*) FROM ev WHERE ts IN ({ts_list})") == 3, "ts IN 40,000 literals")
    id_list = ",".join(str(i) for i in ids[1:]) + "," + ",".join(str(10**15 + i) for i in range(big))
    check(one(conn, f"SELECT count(*) FROM ev WHERE id IN ({id_list})") == 4, "id IN 40,000 literals")
    check([r[0] for r in conn.execute(f"SELECT id FROM ev WHERE id IN ({id_list}) ORDER BY id DESC")] == ids[:0:-1],
          "id IN, ordered")
    types = ["a", "d\"q", "é"] + [f"t{i}" for i in range(100_000)]
    check(one(conn, "SELECT count(*) FROM ev WHERE type IN (SELECT value FROM json_each(?))", (json.dumps(types),)) == 3,
          "type IN json_each of 100,000")
    # Numbers of each kind, text that looks like a number, NULL and a blob, long and short:
    # the same rows either way, as a plain table answers.
    conn.execute("CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, type, n)")
    conn.execute("INSERT INTO plain SELECT id, ts, type, n FROM ev")
    values = ["1", 2.5, 3, 3.0, "4", None, b"a", "b", 5.0000001, -0.0, 1e308, "x" * 200]
    for column in ("n", "type", "ts", "id"):
        for padding in (0, 100, 1_500, 33_000):
            lst = values + [f"pad{i}" for i in range(padding)]
            q = f"SELECT id FROM %s WHERE {column} IN (SELECT value FROM json_each(?)) ORDER BY id"
            marks = ",".join("?" * len(lst)) if len(lst) < 30_000 else None
            j = json.dumps([v for v in lst if not isinstance(v, bytes)])
            got, want = conn.execute(q % "ev", (j,)), conn.execute(q % "plain", (j,))
            check(got == want, f"{column} IN json_each, {len(lst)} values: {got} != {want}")
            if marks:
                got = conn.execute(f"SELECT id FROM ev WHERE {column} IN ({marks}) ORDER BY id", lst)
                want = conn.execute(f"SELECT id FROM plain WHERE {column} IN ({marks}) ORDER BY id", lst)
                check(got == want, f"{column} IN {len(lst)} parameters: {got} != {want}")
    # Text JSON cannot carry (a NUL byte): bound one by one, as before.
    conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(6, "z"),))
    lst = ["z", "a\x00b"] + [f"p{i}" for i in range(200)]
    check(one(conn, f"SELECT count(*) FROM ev WHERE type IN ({','.join('?' * len(lst))})", lst) == 1, "NUL in a long list")


def merged_collection(E, path):
    """A collection with one month merged from its days: (connection, merged shard numbers)."""
    conn = E.open_(path)
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', partition='day', index='$.type', merge='none')")
    for d in range(1, 5):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(1, month=2)}')")
    check(one(conn, "SELECT shard_merge('ev', '2025-02-01')") == 4, "merged")
    merged = [r[0] for r in conn.execute("SELECT num FROM ev_shards WHERE merged_into IS NOT NULL ORDER BY num")]
    check(len(merged) == 4, f"merged rows {merged}")
    check(one(conn, "SELECT count(*) FROM ev") == 5, "all there")
    return conn, merged


@case
def t5_tampered_merged_into(E, folder):
    for i, tamper in enumerate(["UPDATE ev_shards SET merged_into = num WHERE num = %(m)d",
                                "UPDATE ev_shards SET merged_into = 999 WHERE num = %(m)d",
                                "UPDATE ev_shards SET merged_into = -1 WHERE num = %(m)d",
                                "UPDATE ev_shards SET merged_into = 'x' WHERE num = %(m)d",
                                "UPDATE ev_shards SET merged_into = -9223372036854775808 WHERE num = %(m)d",
                                "UPDATE ev_shards SET merged_into = 9223372036854775807 WHERE num = %(m)d",
                                # a table-holding shard made to look merged
                                "UPDATE ev_shards SET merged_into = num WHERE merged_into IS NULL AND seq > 0",
                                "UPDATE ev_shards SET merged_into = 12345 WHERE merged_into IS NULL AND seq > 0",
                                # merged into a shard that is not a merged table
                                "UPDATE ev_shards SET merged_into = (SELECT num FROM ev_shards WHERE seq > 0 "
                                "AND merged_into IS NULL) WHERE num = %(m)d"]):
        path = os.path.join(folder, f"db{i}")
        conn, merged = merged_collection(E, path)
        conn.execute(tamper % {"m": merged[0]})
        conn.close()
        fresh = E.open_(path)
        for sql in ["SELECT count(*) FROM ev", "SELECT count(*) FROM ev WHERE type = 'a'", "DELETE FROM ev",
                    f"INSERT INTO ev(doc) VALUES ('{doc(9)}')", "SELECT * FROM shard_list('ev')"]:
            expect_error(fresh, sql, "catalog of 'ev' is inconsistent")
        fresh.close()


@case
def t6_flipped_summary_byte(E, folder):
    for i in range(12):
        path = os.path.join(folder, f"db{i}")
        conn = E.open_(path)
        conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', max_rows=3, index='$.type', merge='none')")
        for d, t in [(1, "a"), (2, "b"), (3, "d"), (4, "e")]:
            conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d, t)}')")
        conn.execute("SELECT shard_merge('ev', '2024-01-01')")   # summarizes the sealed split
        blob = one(conn, "SELECT summary FROM ev_shards WHERE summary IS NOT NULL")
        check(blob is not None, "a summary")
        check(one(conn, "SELECT count(*) FROM ev WHERE type = 'd'") == 1, "found before")
        # Flip one byte (each position once over the runs, and the version byte).
        at = (i * 7) % len(blob)
        bad = bytearray(blob)
        bad[at] ^= 0x5A if i % 2 else 0x01
        conn.execute("UPDATE ev_shards SET summary = ? WHERE summary IS NOT NULL", (bytes(bad),))
        conn.close()
        fresh = E.open_(path)
        for t, n in [("a", 1), ("b", 1), ("d", 1), ("e", 1), ("zz", 0)]:
            check(one(fresh, f"SELECT count(*) FROM ev WHERE type = '{t}'") == n, f"byte {at} flipped: type {t}")
            check(one(fresh, f"SELECT count(*) FROM ev WHERE type IN ('{t}', 'q')") == n, f"byte {at}: IN {t}")
        fresh.close()
    # A summary copied from another shard's row does not check out either.
    conn = E.open_(os.path.join(folder, "copy"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', max_rows=2, index='$.type', merge='none')")
    for d, t in [(1, "a"), (2, "a"), (3, "d"), (4, "d"), (5, "x")]:
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d, t)}')")
    conn.execute("SELECT shard_merge('ev', '2024-01-01')")
    check(one(conn, "SELECT count(*) FROM ev_shards WHERE summary IS NOT NULL") == 2, "two summaries")
    conn.execute("UPDATE ev_shards SET summary = (SELECT summary FROM ev_shards WHERE summary IS NOT NULL ORDER BY num LIMIT 1)"
                 " WHERE summary IS NOT NULL")
    conn.close()
    fresh = E.open_(os.path.join(folder, "copy"))
    check(one(fresh, "SELECT count(*) FROM ev WHERE type = 'd'") == 2, "a copied summary is not trusted")


@case
def t7_text_in_counter_columns(E, folder):
    live = "WHERE merged_into IS NULL"
    merged = "WHERE merged_into IS NOT NULL"
    late = f"INSERT INTO ev(doc) VALUES ('{doc(1)}')"   # a late document of a merged period
    # A late document joins its month's merged table while that table takes rows; once
    # the table is compressed, it needs a new shard of its day, whose seq follows those of
    # the day's merged shards: read from their rows.
    compressed = "SELECT shard_compress('ev', '2025-02-01')"
    # (tamper, the statements that must fail: None for all[, what runs before the tampering])
    tampering = [(f"UPDATE ev_shards SET rows = 'abc' {live}", None), (f"UPDATE ev_shards SET seq = 'y' {live}", None),
                 (f"UPDATE ev_shards SET last_local = 'z' {live}", None),
                 (f"UPDATE ev_shards SET num = 'n' WHERE num = (SELECT max(num) FROM ev_shards)", None),
                 (f"UPDATE ev_shards SET rows = 1.5 {live}", None), (f"UPDATE ev_shards SET part = 'p' {live}", None),
                 (f"UPDATE ev_shards SET min_id = 'i' {live}", None), (f"UPDATE ev_shards SET max_ts = x'01' {live}", None),
                 ("UPDATE ev_config SET value = '12abc' WHERE key = 'next_number'", None),
                 ("UPDATE ev_config SET value = 'abc' WHERE key = 'next_number'", None),
                 ("UPDATE ev_config SET value = NULL WHERE key = 'next_number'", None),
                 # A merged shard's row, read only when a late document or an id needs it.
                 (f"UPDATE ev_shards SET seq = 'y' {merged}", [late], [compressed]),
                 (f"UPDATE ev_shards SET num = 'n' WHERE num = (SELECT min(num) FROM ev_shards {merged})", None)]
    for i, (tamper, failing, *before) in enumerate(tampering):
        path = os.path.join(folder, f"db{i}")
        conn, merged_numbers = merged_collection(E, path)
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(2, month=2)}')")
        for sql in (before[0] if before else []):
            conn.execute(sql)
        conn.execute(tamper)
        conn.close()
        fresh = E.open_(path)
        for sql in ["SELECT count(*) FROM ev", f"INSERT INTO ev(doc) VALUES ('{doc(3, month=2)}')", late,
                    f"SELECT count(*) FROM ev WHERE id = {merged_numbers[-1] << 40 | 1}",
                    "DELETE FROM ev WHERE ts >= 1738368000000", "SELECT shard_compress('ev', '2026-01-01')"]:
            if failing is None or sql in failing:
                expect_error(fresh, sql, "catalog of 'ev' is inconsistent")
            else:
                try:
                    fresh.execute(sql)
                except SQLError as e:
                    check("catalog of 'ev' is inconsistent" in e.message, f"{tamper}: {sql}: {e.message}")
        fresh.close()


@case
def t9_directonly_functions_not_run_from_check_constraints(E, folder):
    path = os.path.join(folder, "db")
    conn = E.open_(path)
    # No indexed path: SQLite 3.40 refuses json_extract in the shards' indexes once
    # trusted_schema is off (its JSON functions are not innocuous there).
    conn.execute(S.replace(", index='$.type'", ""))
    made = []
    for name, sql in [("chk", f"CREATE TABLE chk(x CHECK(shard_insert('ev', '{doc(7)}')))"),
                      ("chk2", "CREATE TABLE chk2(x CHECK(shard_archive('ev', '2026-01-01', 'chk.db')))"),
                      ("chk3", "CREATE TABLE chk3(x CHECK(x IS NULL OR shard_drop('ev', '2026-01-01') >= 0))"),
                      ("chk4", "CREATE TABLE chk4(x CHECK(/* shard_insert */ shard_merge('ev', '2026-01-01') >= 0))")]:
        try:
            conn.execute(sql)
            made.append(name)
        except SQLError as e:
            check("unsafe use" in e.message, e.message)   # SQLite 3.50+ refuses them here
    conn.close()
    fresh = E.open_(path)
    fresh.defensive()
    for trusted in (1, 0):
        fresh.execute(f"PRAGMA trusted_schema = {trusted}")
        for name in made:
            expect_error(fresh, f"INSERT INTO {name}(x) VALUES (1)", "unsafe use of shard_")
            expect_error(fresh, f"INSERT INTO {name}(x) SELECT 1", "unsafe use of shard_")
    check(one(fresh, "SELECT count(*) FROM ev") == 1, "no document written by a CHECK")
    check(not os.path.exists(os.path.join(folder, "chk.db")), "no archive file made by a CHECK")
    check(one(fresh, "SELECT count(*) FROM shard_list('ev')") == 1, "no shard dropped")
    # The application's own calls still run, alone, per row, and nested in its own SQL.
    check(one(fresh, f"SELECT shard_insert('ev', '{doc(8)}') > 0") == 1, "a direct call")
    check(one(fresh, "SELECT count(shard_insert('ev', value)) FROM json_each(?)", (f"[{doc(9)}, {doc(10)}]",)) == 2, "per row")
    check(one(fresh, f"SELECT \"SHARD_INSERT\"('ev', '{doc(11)}') > 0") == 1, "quoted, in capitals")
    check(one(fresh, "SELECT count(*) FROM ev") == 5, "written")


# MARK: - smaller

@case
def insert_select_from_buffered_collection(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts', buffer=10); CREATE TABLE t(d)")
    for d in range(1, 4):
        conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(d)}')")
    conn.execute("INSERT INTO t SELECT doc FROM ev")
    check(one(conn, "SELECT count(*) FROM t") == 3, "copied out")
    conn.execute(f"INSERT INTO ev(doc) VALUES ('{doc(4)}')")
    conn.execute("INSERT INTO ev(doc) SELECT doc FROM ev")
    check(one(conn, "SELECT count(*) FROM ev") == 8, "copied into itself")


@case
def path_with_backslash(E, folder):
    conn = E.open_(":memory:")
    for sql in ["CREATE VIRTUAL TABLE ev USING shards(time='$.\"a\\\"')",
                "CREATE VIRTUAL TABLE ev USING shards(index='$.\"a\\\"')",
                "CREATE VIRTUAL TABLE ev USING shards(category='$.\"a\\b\"')"]:
        expect_error(conn, sql, "bad JSON path")
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time='$.ts')")
    expect_error(conn, "SELECT ensure_json_index('ev', '$.\"a\\\"')", "bad JSON path")
    expect_error(conn, "SELECT count(*) FROM ev('{\"a\\\\\": 1}')", "field")


@case
def load_twice(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    conn.load()
    check(one(conn, "SELECT shards_version()") is not None, "version")
    check(one(conn, "SELECT count(*) FROM ev") == 1, "reads")
    check(one(conn, "SELECT shard_key('ev', '2025-01-06')").startswith("ev:2025:01:"), "functions reach the collection")
    conn.execute(f"SELECT shard_insert('ev', '{doc(6)}')")
    check(one(conn, "SELECT count(*) FROM ev") == 2, "writes")


@case
def drop_table_after_catalog_dropped_by_hand(E, folder):
    conn = E.open_(os.path.join(folder, "db"))
    conn.execute(S)
    conn.execute("DROP TABLE ev_shards")
    fresh = E.open_(os.path.join(folder, "db"))
    expect_error(fresh, "SELECT count(*) FROM ev", "lost its catalog table ev_shards")
    fresh.close()
    conn.execute("DROP TABLE ev")
    left = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE name = 'ev' OR name LIKE 'ev\\_c%' ESCAPE '\\'")]
    check(left == [], f"left {left}")


# MARK: - runner

class Host:
    """What a case gets: connections on one engine, and its log."""

    def __init__(self, engine):
        self.engine = engine

    def open_(self, path, load=True):
        return engines.open_(self.engine, path, load)

    def capture_log(self, sink):
        engines.capture_log(self.engine, sink)

    def version(self):
        return engines.version(self.engine)


def child(engine, name):
    folder = tempfile.mkdtemp(prefix="shards-safety-")
    os.chdir(folder)
    try:
        CASES[name](Host(engine), folder)
        print("PASS")
    except Failure as f:
        print(f"FAIL {f}")
    except SQLError as e:
        print(f"FAIL unexpected SQL error: {e.message}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or list(CASES)
    passed = failed = 0
    for engine in engines.ENGINES:
        label = f"{engine} {engines.version(engine)}"
        for name in names:
            started = time.time()
            try:
                p = subprocess.run([sys.executable, __file__, "--child", engine, name], capture_output=True,
                                   text=True, timeout=120, cwd=ROOT)
                out = p.stdout.strip().splitlines()
                last = out[-1] if out else ""
                ok = p.returncode == 0 and last == "PASS"
                detail = last if p.returncode == 0 else f"exit {p.returncode} (crash?) {last} {p.stderr.strip()[-300:]}"
            except subprocess.TimeoutExpired:
                ok, detail = False, "timed out (120 s)"
            took = time.time() - started
            if ok:
                passed += 1
                print(f"ok    {name:<48} {label}  {took:.1f}s")
            else:
                failed += 1
                print(f"FAIL  {name:<48} {label}: {detail}")
            sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
