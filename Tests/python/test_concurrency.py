"""Concurrent lifecycle: a writer, a process that drops or merges, and a reader, all
at once on one WAL database (issue 18). Run from the repository root after
`swift build -c release`:

    .venv/bin/python Tests/python/test_concurrency.py [--seconds N] [scenario ...]

Scenarios (each in a fresh database, each bounded in time; children are stopped by
their pid when they overrun):

- drop, merge: W inserts documents an hour's worth at a time into a
  `partition = hour`, `merge = auto`, small `max_rows` collection (autocommit, one
  acknowledged row per statement). L loops `SELECT shard_drop('ev', 0)` (which
  drops no shard, only the tables merges emptied) or `shard_merge('ev', <far>)`.
  R counts the collection. Then every acknowledged row must be there once, the
  catalog must match the shards and the schema, and no process may have seen an
  error other than SQLITE_BUSY (which it retries).
- drop-buffered, merge-buffered: the same with W at `buffer = 20` (the rows a
  buffered writer acknowledged are written at its flushes and when it closes).
- buffer-merges: 8,000 documents over 200 hours, buffered and not: a buffered
  collection under `merge = auto` ends with as few tables as an unbuffered one.
- killed-writer: W inserts in `BEGIN IMMEDIATE` batches into a `partition = day`
  collection with a category and runs `shard_merge` or `shard_compress` between
  batches; it is SIGKILLed 15 times at random moments. R only counts, all along,
  and must never see an error other than SQLITE_BUSY (no "readonly database") and
  SQLite's own SQLITE_SCHEMA (counted); every committed row must be there at the end.
- schema-churn: W makes a shard every two documents in a `merge = none` collection
  of a thousand tables; R counts the collection and a plain table of the same file
  in turn. SQLite gives up re-preparing a statement (SQLITE_SCHEMA) after 50 schema
  changes in a row; the collection's reads must not meet that more often than the
  plain table's (the extension adds no failure of its own).

Prints one line per check and `N passed, M failed`; exits 1 on failure.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import apsw

import harness
from harness import Tally, connect, spawn

# SHARDS_LIB=/path/to/libShardExt.so runs the scenarios against another build (an
# older one, to see them fail).
harness.LIB = os.environ.get("SHARDS_LIB", harness.LIB).removesuffix(".so")

SELF = os.path.abspath(__file__)
BASE_TS = 1735689600000          # 2025-01-01T00:00:00Z
HOUR = 3600_000
FAR = BASE_TS + 400 * 24 * HOUR  # after every document of every scenario

T = Tally()


# --------------------------------------------------------------------------- children

def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def error_line(where, e):
    emit(f"E {where}: {type(e).__name__}: {e}")


def busy(e):
    return isinstance(e, apsw.BusyError)


def child_writer(db, seconds, per_hour, seed):
    """Inserts documents with increasing times until the deadline; prints `A <seq>`
    once each insert returned. BusyError: the statement is retried."""
    conn = connect(db, busy_ms=5000)
    deadline = time.time() + seconds
    seq = 0
    while time.time() < deadline:
        d = json.dumps({"ts": BASE_TS + seq * HOUR // per_hour, "seq": seq, "type": "abc"[seq % 3]})
        try:
            conn.execute("INSERT INTO ev(doc) VALUES (?)", (d,))
        except Exception as e:  # noqa: BLE001 - every error is reported to the parent
            if not busy(e):
                error_line("insert", e)
            continue
        emit(f"A {seq}")
        seq += 1
    try:
        conn.close()
    except Exception as e:  # noqa: BLE001
        error_line("close", e)
    emit("END")


def child_lifecycle(db, seconds, mode):
    """Loops shard_drop('ev', 0) or shard_merge('ev', FAR) until the deadline."""
    conn = connect(db, busy_ms=5000)
    deadline = time.time() + seconds
    sql = {"drop": "SELECT shard_drop('ev', 0)", "merge": f"SELECT shard_merge('ev', {FAR})",
           "retire": "SELECT shard_drop('ev', ?)"}[mode]
    calls = 0
    while time.time() < deadline:
        try:
            if mode == "retire":
                # Whole hours older than the newest document's by three go.
                cutoff = conn.execute(f"SELECT coalesce(max(ts), {BASE_TS}) - {3 * HOUR} FROM ev").fetchall()[0][0]
                emit(f"C {cutoff}")
                conn.execute(sql, (cutoff,)).fetchall()
            else:
                conn.execute(sql).fetchall()
            calls += 1
        except Exception as e:  # noqa: BLE001
            if not busy(e):
                error_line(mode, e)
        time.sleep(0.002)
    emit(f"CALLS {calls}")
    emit("END")


def connect_readonly(db, busy_ms):
    """A connection that cannot write: a read that writes fails on it (SQLITE_READONLY)."""
    conn = apsw.Connection(db, flags=apsw.SQLITE_OPEN_READONLY)
    conn.enable_load_extension(True)
    conn.load_extension(harness.LIB)
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    return conn


def child_reader(db, seconds):
    """Counts the collection (whole, and a time range) until the deadline, on a
    read-write connection and on a read-only one (so a read that writes shows);
    every 50 reads each connection is opened again (a fresh one reads the catalog
    whole)."""
    conns = []
    deadline = time.time() + seconds
    reads = 0
    while time.time() < deadline:
        try:
            if reads % 50 == 0:
                for c in conns:
                    c.close()
                conns = [connect(db, busy_ms=5000), connect_readonly(db, busy_ms=5000)]
            for conn in conns:
                conn.execute("SELECT count(*) FROM ev").fetchall()
                conn.execute("SELECT count(*), max(ts) FROM ev WHERE ts >= ?", (BASE_TS + 24 * HOUR,)).fetchall()
            reads += 1
        except Exception as e:  # noqa: BLE001
            if not busy(e):
                error_line("read", e)
            reads += 1
        time.sleep(0.001)
    emit(f"READS {reads}")
    emit("END")


def schema_changed(e):
    return isinstance(e, apsw.SchemaChangeError) or "schema has changed" in str(e)


def child_churn_reader(db, seconds):
    """Schema churn: counts the collection and, in turn, a plain table of the same
    file; prints how many reads of each succeeded and how many SQLite gave up on
    with SQLITE_SCHEMA after its re-prepares (`STATS ev_ok ev_schema plain_ok
    plain_schema`)."""
    conn = connect(db, busy_ms=5000)
    deadline = time.time() + seconds
    stats = {"ev": [0, 0], "plain": [0, 0]}
    while time.time() < deadline:
        for table in ("ev", "plain"):
            try:
                conn.execute(f"SELECT count(*) FROM {table}").fetchall()
                stats[table][0] += 1
            except Exception as e:  # noqa: BLE001
                if schema_changed(e):
                    stats[table][1] += 1
                elif not busy(e):
                    error_line(f"read {table}", e)
    conn.close()
    emit(f"STATS {stats['ev'][0]} {stats['ev'][1]} {stats['plain'][0]} {stats['plain'][1]}")
    emit("END")


def child_batches(db, start, seed):
    """Killed writer: BEGIN IMMEDIATE batches of 40 rows from seq `start`, then a
    merge or a compress; prints `A <seq>` for each row of a committed batch."""
    rng = random.Random(seed)
    conn = connect(db, busy_ms=5000)
    seq = start
    while True:
        rows = [json.dumps({"ts": BASE_TS + (seq + i) * HOUR // 4, "seq": seq + i, "type": "xy"[(seq + i) % 2]})
                for i in range(40)]
        try:
            conn.execute("BEGIN IMMEDIATE")
            for d in rows:
                conn.execute("INSERT INTO ev(doc) VALUES (?)", (d,))
            conn.execute("COMMIT")
        except Exception as e:  # noqa: BLE001
            if not busy(e):
                error_line("batch", e)
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:
                pass
            continue
        emit(f"A {seq}-{seq + len(rows) - 1}")
        seq += len(rows)
        before = BASE_TS + (seq * HOUR // 4) - 2 * 24 * HOUR
        sql = rng.choice([f"SELECT shard_merge('ev', {FAR})", f"SELECT shard_compress('ev', {before})",
                          f"SELECT shard_merge('ev', {before})"])
        try:
            conn.execute(sql).fetchall()
        except Exception as e:  # noqa: BLE001
            if not busy(e):
                error_line("lifecycle", e)


def child(argv):
    kind = argv[0]
    if kind == "writer":
        child_writer(argv[1], float(argv[2]), int(argv[3]), int(argv[4]))
    elif kind in ("drop", "merge", "retire"):
        child_lifecycle(argv[1], float(argv[2]), kind)
    elif kind == "reader":
        child_reader(argv[1], float(argv[2]))
    elif kind == "churn-reader":
        child_churn_reader(argv[1], float(argv[2]))
    elif kind == "batches":
        child_batches(argv[1], int(argv[2]), int(argv[3]))


# --------------------------------------------------------------------------- parent side

def new_db(tmp, name, options):
    path = os.path.join(tmp, f"{len(os.listdir(tmp))}-{name}")
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchall()[0][0] == "wal"
    conn.execute(f"CREATE VIRTUAL TABLE ev USING shards({options})")
    conn.close()
    return path


def finish(procs, seconds):
    """Waits for the children (they stop at their deadline); one that overruns by
    30 s is stopped by its pid. Returns each child's output lines."""
    out = {}
    for name, p in procs.items():
        try:
            stdout, stderr = p.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            stdout, stderr = p.communicate()
            T.check(f"{name} stopped in time", False, "killed after overrunning")
        lines = stdout.decode().splitlines()
        if p.returncode != 0 or "END" not in lines:
            lines.append(f"E exit: code {p.returncode}: {stderr.decode()[-400:]}")
        out[name] = lines
    return out


def errors(lines):
    return [line[2:] for line in lines if line.startswith("E ")]


def acknowledged(lines):
    seqs = []
    for line in lines:
        if line.startswith("A "):
            a, _, b = line[2:].partition("-")
            seqs.extend(range(int(a), int(b or a) + 1))
    return seqs


def consistent(conn):
    """Integrity, the catalog against the shards, and the catalog against the schema."""
    problems = []
    ok = conn.execute("PRAGMA integrity_check").fetchall()[0][0]
    if ok != "ok":
        problems.append(f"integrity_check: {ok}")
    cat = {r[0]: r[1] for r in conn.execute("SELECT shard, rows FROM shard_list('ev')")}
    actual = {r[0]: r[1] for r in conn.execute("SELECT shard, count(*) FROM ev GROUP BY shard")}
    for key, n in actual.items():
        if cat.get(key) != n:
            problems.append(f"{key}: catalog rows {cat.get(key)}, shard holds {n}")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    for key, tbl, state in conn.execute("SELECT key, tbl, state FROM ev_shards WHERE merged_into IS NULL"):
        stored = tbl + "-z" if state in ("compressed", "retired-compressed") else tbl
        if state != "archived" and stored not in tables:
            problems.append(f"shard {key}: its table {stored} is missing")
    return problems


def missing(conn, acked, kept=lambda seq: True):
    """Acknowledged rows not there (of those `kept` says no drop may have taken), and
    how many rows are there twice."""
    present = [r[0] for r in conn.execute("SELECT json_extract(doc, '$.seq') FROM ev")]
    dupes = len(present) - len(set(present))
    return sorted(s for s in set(acked) - set(present) if kept(s)), dupes


def lifecycle_race(tmp, mode, buffered, seconds):
    """W inserts, L drops or merges, R reads, all at once; nothing acknowledged is lost."""
    label = f"{mode}{'-buffered' if buffered else ''}"
    options = "partition = hour, time = '$.ts', max_rows = 4, merge = auto, index = '$.type'"
    if buffered:
        options += ", buffer = 20"
    db = new_db(tmp, f"{label}.db", options)
    per_hour = 12
    procs = {
        "W": spawn(SELF, ["writer", db, seconds, per_hour, 1]),
        "L": spawn(SELF, [mode, db, seconds]),
        "R": spawn(SELF, ["reader", db, seconds]),
    }
    out = finish(procs, seconds)
    acked = acknowledged(out["W"])
    # shard_drop(before) takes whole hours ending at or before `before`: rows of a
    # later hour stay.
    cutoff = max((int(line[2:]) for line in out["L"] if line.startswith("C ")), default=None)

    def kept(seq):
        return cutoff is None or BASE_TS + seq * HOUR // per_hour >= cutoff
    calls = next((line for line in out["L"] if line.startswith("CALLS")), "CALLS ?")
    reads = next((line for line in out["R"] if line.startswith("READS")), "READS ?")
    for name in "WLR":
        errs = errors(out[name])
        T.check(f"{label}: {name} saw no error but SQLITE_BUSY", not errs,
                f"{len(errs)} errors, first: {errs[:3]}" if errs else "")
    try:
        conn = connect(db)
        lost, dupes = missing(conn, acked, kept)
        problems = consistent(conn)
        tables = conn.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 'ev_2*'").fetchall()[0][0]
        conn.close()
    except apsw.Error as e:
        lost, dupes, problems, tables = acked, 0, [f"{type(e).__name__}: {e}"], "?"
    T.check(f"{label}: every acknowledged row is there once", not lost and not dupes and acked,
            f"{len(acked)} acknowledged, {len(lost)} lost (first {lost[:5]}), {dupes} duplicates; "
            f"{calls}, {reads}, {tables} shard tables")
    T.check(f"{label}: catalog, shards and schema agree", not problems, "; ".join(problems[:4]))


def buffer_merges(tmp):
    """Item 3: with buffer > 0, merge = auto keeps the table count like buffer = 0 does."""
    counts = {}
    for buf in (0, 20):
        db = new_db(tmp, f"bufmerge{buf}.db", f"partition = hour, time = '$.ts', max_rows = 50, buffer = {buf}")
        conn = connect(db)
        for i in range(8000):
            conn.execute("INSERT INTO ev(doc) VALUES (?)",
                         (json.dumps({"ts": BASE_TS + i * 200 * HOUR // 8000, "i": i}),))
        conn.execute("SELECT shard_flush('ev')").fetchall()
        counts[buf] = conn.execute(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 'ev_2*'").fetchall()[0][0]
        rows = conn.execute("SELECT count(*) FROM ev").fetchall()[0][0]
        conn.close()
        T.check(f"buffer-merges: buffer = {buf} keeps all 8000 rows", rows == 8000, f"{rows}")
    T.check("buffer-merges: 8,000 documents over 200 hours, buffer = 20 ends with about as many tables as buffer = 0",
            counts[20] <= counts[0] * 1.5 + 5, f"buffer 0: {counts[0]} tables, buffer 20: {counts[20]}")


def killed_writer(tmp, kills, rng):
    """Item 8: a reader that only counts sees nothing but BUSY (and SQLite's own
    SQLITE_SCHEMA, counted) while a writer that
    merges and compresses is SIGKILLed again and again."""
    options = "partition = day, time = '$.ts', category = '$.type', max_rows = 30, index = '$.type'"
    db = new_db(tmp, "killed.db", options)
    seconds = kills * 1.2 + 5
    reader = spawn(SELF, ["reader", db, seconds])
    acked, start, writer_errors = [], 0, []
    for k in range(kills):
        w = spawn(SELF, ["batches", db, start, rng.randrange(1 << 30)])
        time.sleep(rng.uniform(0.3, 1.0))
        os.kill(w.pid, signal.SIGKILL)
        stdout, _ = w.communicate()
        lines = stdout.decode().splitlines()
        acked += acknowledged(lines)
        writer_errors += errors(lines)
        start = (max(acked) + 1) if acked else start
        start += 1000      # a batch cut by the kill never reuses a seq
    out = finish({"R": reader}, seconds)
    # SQLITE_SCHEMA after SQLite's 50 re-prepares is SQLite giving up under the
    # writer's schema changes, as often for a plain table (schema-churn measures
    # both); counted and printed. Every other error (a write on the read path:
    # SQLITE_READONLY, say) fails.
    errs = [e for e in errors(out["R"]) if "schema has changed" not in e]
    schema_changed = len(errors(out["R"])) - len(errs)
    if schema_changed:
        print(f"  killed-writer: SQLite gave up re-preparing a read (SQLITE_SCHEMA) {schema_changed} times")
    reads = next((line for line in out["R"] if line.startswith("READS")), "READS ?")
    T.check(f"killed-writer: the reader saw no error but SQLITE_BUSY over {kills} SIGKILLs",
            not errs, f"{len(errs)} errors, first: {errs[:3]}" if errs else reads)
    T.check("killed-writer: the writer saw no error but SQLITE_BUSY", not writer_errors, str(writer_errors[:3]))
    conn = connect(db)
    lost, dupes = missing(conn, acked)
    problems = consistent(conn)
    conn.close()
    T.check("killed-writer: every committed row is there once, catalog consistent",
            not lost and not dupes and not problems and acked,
            f"{len(acked)} committed, {len(lost)} lost, {dupes} duplicates; {problems[:3]}")


def schema_churn(tmp, seconds):
    """A statement on a connection that did not change the schema is re-prepared by
    SQLite when another one did; after 50 re-prepares that each found the schema
    changed again, SQLite gives up with SQLITE_SCHEMA. A writer that makes a shard
    every two documents in a collection of a thousand tables (`merge = none`) changes
    the schema that often. The collection's reads must give up no more often than a
    plain table's reads of the same file, in the same process, at the same time:
    the extension adds no failure of its own to SQLite's (and no other error)."""
    db = new_db(tmp, "churn.db", "partition = hour, time = '$.ts', max_rows = 2, merge = none, index = '$.type'")
    conn = connect(db)
    conn.execute("CREATE TABLE plain(doc)")
    conn.execute("INSERT INTO plain VALUES ('{}')")
    conn.close()
    procs = {"W": spawn(SELF, ["writer", db, seconds, 12, 1]), "R": spawn(SELF, ["churn-reader", db, seconds])}
    out = finish(procs, seconds)
    stats = next((line for line in out["R"] if line.startswith("STATS")), None)
    errs = errors(out["R"]) + [e for e in errors(out["W"]) if "schema has changed" not in e]
    T.check("schema-churn: no error but SQLITE_BUSY and SQLITE_SCHEMA", not errs and stats, str(errs[:3]))
    if not stats:
        return
    ev_ok, ev_schema, plain_ok, plain_schema = map(int, stats.split()[1:])
    ev_rate = ev_schema / max(1, ev_ok + ev_schema)
    plain_rate = plain_schema / max(1, plain_ok + plain_schema)
    shards = len(acknowledged(out["W"])) // 2
    T.check("schema-churn: the collection's reads give up with SQLITE_SCHEMA no more often than a plain table's "
            "(twice its rate, plus one in a hundred)", ev_ok > 0 and ev_rate <= 2 * plain_rate + 0.01,
            f"about {shards} shards made in {seconds:g} s; collection: {ev_schema} of {ev_ok + ev_schema} reads "
            f"gave up; plain table: {plain_schema} of {plain_ok + plain_schema}")
    print(f"  schema-churn: about {shards} shards in {seconds:g} s; collection {ev_schema}/{ev_ok + ev_schema} "
          f"reads gave up, plain table {plain_schema}/{plain_ok + plain_schema}")


def close_after_merge(tmp):
    """A buffered writer's acknowledged rows, written when it closes, go where the
    catalog says their shard is now: another connection merged that shard (and
    dropped its emptied table) since the writer last read the catalog."""
    db = new_db(tmp, "close-after-merge.db", "partition = hour, time = '$.ts', max_rows = 2, buffer = 10")
    a, b = connect(db), connect(db)
    for i in range(3):
        a.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": BASE_TS + i, "seq": i}),))
    a.execute("SELECT shard_flush('ev')").fetchall()
    a.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": BASE_TS + 3, "seq": 3}),))
    moved = b.execute(f"SELECT shard_merge('ev', {FAR})").fetchall()[0][0]
    a.close()
    seqs = sorted(r[0] for r in b.execute("SELECT json_extract(doc, '$.seq') FROM ev"))
    problems = consistent(b)
    b.close()
    T.check("close-after-merge: a buffered row acknowledged before another connection merged its shard is "
            "written at close into the merged table", seqs == [0, 1, 2, 3] and not problems,
            f"{moved} rows merged; rows there: {seqs}; {problems[:2]}")


SCENARIOS = ["drop", "merge", "retire", "drop-buffered", "merge-buffered", "retire-buffered", "buffer-merges",
             "killed-writer", "close-after-merge", "schema-churn"]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8, help="how long each race runs")
    ap.add_argument("--kills", type=int, default=15)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("scenarios", nargs="*", default=SCENARIOS)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}")
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="shards-conc-")
    try:
        for s in args.scenarios:
            if s.split("-")[0] in ("drop", "merge", "retire") and s in SCENARIOS:
                lifecycle_race(tmp, s.split("-")[0], s.endswith("buffered"), args.seconds)
            elif s == "buffer-merges":
                buffer_merges(tmp)
            elif s == "close-after-merge":
                close_after_merge(tmp)
            elif s == "schema-churn":
                schema_churn(tmp, min(args.seconds, 4))
            elif s == "killed-writer":
                killed_writer(tmp, args.kills, rng)
            else:
                sys.exit(f"unknown scenario {s}; known: {' '.join(SCENARIOS)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    sys.exit(1 if T.failed else 0)


if __name__ == "__main__":
    main()
