"""Fuzzing the extension through SQL, in child processes, so that a crash of the host
(a Swift trap, a segfault, an abort) shows up as a failure instead of ending the run.

    scripts/fuzz --minutes N [--seed S] [--engine apsw|c|both]
    scripts/fuzz --replay S/B/I [--engine E]     # one case again, printing its SQL
    FUZZ_SURFACES=tamper,catalog scripts/fuzz ...  # only those surfaces (concurrent, ...)

Each batch B of a run with seed S runs in a child process (apsw's SQLite 3.54 and the
system SQLite 3.40 through its C API, alternately; see Tests/python/engines.py). Case I
of batch B is generated from the random seed "S/B/I" alone, so any case can be run
again by itself. A case opens a fresh database and drives one surface:

  options    CREATE VIRTUAL TABLE with generated option lists and values
  documents  inserts of generated JSON (and non-JSON) into generated collections
  paths      generated JSON paths: options, ensure_json_index, query fields
  queries    query documents (the `filter` column), valid and broken
  sql        generated SELECTs on a collection, compared with the same SELECT on a
             plain table holding the same rows (a differential: a different answer
             is a failure too)
  blocks     shards_block() on real blocks, mutated blocks and forged zstd frames
  lifecycle  sequences of writes, BEGIN/SAVEPOINT/ROLLBACK, buffering, shard_drop,
             shard_compress, shard_archive; afterwards the collection must still
             agree with its catalog (count(*) = shard_list's rows) and take writes
  times      time strings and numbers for shard_key and inserts
  catalog    a catalog or config value changed by hand (extreme numbers, other
             tables and files), then the collection used on a fresh connection
  explain    shards_explain of generated statements (nested, writing, several),
             and a trigger on a shard table that writes to its collection
  rollups    shards_rollup with generated options (buckets, groups, measures,
             valid and broken), generated queries on it interleaved with writes,
             shard_rollup_refresh and lifecycle calls; a rollup's count must equal
             the collection's count(*) while nothing was dropped; now and then a
             rollup without sketches and 1,100 rows into one day (the writer writes
             the hot shard's prefix), then an update, a delete or a rollback, and a
             second connection's counts per bucket and type must be GROUP BY's
  concurrent a writer, a dropper or merger and a reader, three processes at once on
             one WAL database for about two seconds (generated options, buffering,
             lifecycle call); no acknowledged row may be lost (but what a drop's
             cutoff allows), nor any process see an error but SQLITE_BUSY
  tamper     a merged collection's merged_into, summary bytes or counter columns
             changed by hand; then every answer on a fresh connection must be the
             one from before or the catalog's "inconsistent" error, never another

SQL errors are expected (most generated input is bad); what fails a case is the child
dying, hanging, a differential mismatch or an inconsistent collection. The run prints
its seed first, one line per failure with the replay command, and a closing tally.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import engines  # noqa: E402
from engines import SQLError  # noqa: E402

ROOT = engines.ROOT
CASES_PER_BATCH = 40
BATCH_TIMEOUT = 120

# MARK: - generators of values


def gen_name(r):
    return r.choice(["ev", "e", "events", "ev_x", "x"])


def gen_path(r):
    if r.random() < 0.15:
        return r.choice(["$", "", "$.", "$..a", "$[", "$[-1]", "$.a[99999999999]", "$.\"", "$.\"\"", "a.b",
                         "$.a b", "$.\"a\\\"", "$.\"x\\y\"", "$.'a'", "$.a\x00b", "$." + "a" * 1200, "$.é", "$[0"])
    steps = []
    for _ in range(r.randint(1, 4)):
        k = r.random()
        if k < 0.6:
            steps.append("." + r.choice(["ts", "type", "user", "id", "a", "b", "n", "app", "t"]))
        elif k < 0.8:
            steps.append("[" + str(r.randint(0, 3)) + "]")
        else:
            steps.append(".\"" + r.choice(["a b", "x.y", "q'uote", "é", "[1]", "%", "_"]) + "\"")
    return "$" + "".join(steps)


def gen_time(r):
    k = r.random()
    if k < 0.35:
        return r.randint(1735689600000, 1767225600000)
    if k < 0.5:
        return r.choice([0, -1, 2 ** 63 - 1, -2 ** 63, 253402300799999, 253402300800000, -62167219200000,
                         -62167219200001, 1e300, -0.0, float("nan") if False else 1.5, 17356896000001.5])
    if k < 0.85:
        y = r.choice([2025, 2025, 2026, 1970, 1, 9999, 10000, 0, 9025])
        s = f"{y:04d}-{r.randint(0, 13):02d}-{r.randint(0, 32):02d}"
        if r.random() < 0.6:
            s += r.choice(["T", " "]) + f"{r.randint(0, 24):02d}:{r.randint(0, 60):02d}:{r.randint(0, 60):02d}"
            s += r.choice(["", "Z", ".250", "+05:30", "-23:59", ".123456789", "+99:99", "z"])
        return s
    return r.choice(["", "now", "2025", "2025-01", "garbage", "2025-01-01T", "２０２５-01-01", "2025-01-01\x00"])


def gen_value(r, depth=0):
    k = r.random()
    if depth > 3 or k < 0.3:
        return r.choice([0, 1, -1, 7, 2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63, 1.5, -0.0, 1e308, True, False, None])
    if k < 0.6:
        return r.choice(["a", "click", "view", "", "é", "x" * r.randint(0, 40), "a\"b", "'", "\\", "%_"])
    if k < 0.8:
        return [gen_value(r, depth + 1) for _ in range(r.randint(0, 3))]
    return {r.choice(["a", "b", "type", "ts", "n", "user", "id"]): gen_value(r, depth + 1) for _ in range(r.randint(0, 3))}


def gen_scalar(r):
    """A value that can be bound: NULL, a number, text or a blob."""
    v = gen_value(r, depth=4)
    return v if not isinstance(v, bool) else int(v)


def gen_document(r):
    k = r.random()
    if k < 0.1:
        return r.choice(["", "{", "[]", "1", "null", "{\"a\":}", "{'a':1}", "{\"ts\":1,}", "\x00", "{\"a\":1}x",
                         "{\"ts\":\"2025-01-01\",\"ts\":\"2030-01-01\"}", "{\"a\":" * 3000, "{\"ts\":1e999}"])
    d = {}
    if r.random() < 0.9:
        d["ts"] = gen_time(r)
    for _ in range(r.randint(0, 4)):
        d[r.choice(["type", "user", "app", "n", "a", "b", "x y", "é"])] = gen_value(r)
    if r.random() < 0.3:
        d["user"] = {"id": r.randint(0, 5)}
    if r.random() < 0.2:
        d["app"] = r.choice(["billing", "x", "a_b", "ü", "a:b", "a/b", "x" * 70, "", None, 5, "~5f"])
    return json.dumps(d)


def gen_options(r, usable=True):
    opts = []
    if usable:
        opts.append(f"time = '{r.choice(['$.ts', '$.ts', '$.t'])}'")
    for _ in range(r.randint(0, 5)):
        k = r.choice(["partition", "max_rows", "index", "index", "category", "buffer", "flush_ms", "retain",
                      "time_unit", "storage", "bogus", "time"])
        if k == "partition":
            v = r.choice(["none", "year", "month", "day", "hour", "week", "''", "MONTH"])
        elif k == "max_rows":
            v = r.choice(["1", "2", "3", "0", "-1", "1000000000001", "9223372036854775807", "x", "2.5"])
        elif k == "index":
            v = "'" + r.choice(["", "col: ", "user: ", "9x: ", "a\"b: "]) + gen_path(r).replace("'", "''") + r.choice(["", " integer", " real", " text", " blob"]) + "'"
        elif k == "category":
            v = "'" + r.choice(["$.app", "$.app", "$.type"] + [gen_path(r).replace("'", "''")]) + "'"
        elif k == "buffer":
            v = r.choice(["0", "1", "3", "100", "1000001", "-5"])
        elif k == "flush_ms":
            v = r.choice(["100000", "0", "-1", "99999999999999999999"])
        elif k == "retain":
            v = "'" + r.choice(["30 days", "1 hour", "2 months", "1 years", "0 days", "100001 days", "x", "5"]) + "'"
        elif k == "time_unit":
            v = r.choice(["s", "ms", "us"])
        elif k == "storage":
            v = r.choice(["auto", "text", "jsonb", "zip"])
        elif k == "time":
            v = "'" + gen_path(r).replace("'", "''") + "'"
        else:
            v = "1"
        if usable and k in ("time", "time_unit", "bogus", "storage") and r.random() < 0.8:
            continue
        opts.append(f"{k} = {v}")
    if usable:
        seen, kept = set(), []
        for o in opts:
            k = o.split("=")[0].strip()
            if k in seen and k != "index":
                continue
            seen.add(k)
            kept.append(o)
        opts = kept
    return ", ".join(opts)


def gen_query_document(r, depth=0):
    ops = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$bogus"]
    d = {}
    for _ in range(r.randint(0, 3)):
        k = r.random()
        if k < 0.15 and depth < 2:
            d[r.choice(["$and", "$or", "$nor"])] = [gen_query_document(r, depth + 1) for _ in range(r.randint(0, 3))]
        else:
            field = r.choice(["type", "user.id", "n", "a.b", "ts", "", "a..b", "$.type", "a\"b", "x\\y", "é"])
            if r.random() < 0.5:
                d[field] = gen_value(r)
            else:
                op = r.choice(ops)
                v = [gen_value(r) for _ in range(r.randint(0, 3))] if op in ("$in", "$nin") and r.random() < 0.9 else gen_value(r)
                d[field] = {op: v}
    if r.random() < 0.05:
        return r.choice([[], 1, "x", None])
    return d


# MARK: - the case context


class Ctx:
    """A case's connection, its random source and the SQL it ran (printed on replay)."""

    def __init__(self, engine, r, folder, verbose):
        self.engine, self.r, self.folder, self.verbose = engine, r, folder, verbose
        self.conns = []
        self.problems = []

    def open(self, name="db"):
        path = ":memory:" if name == ":memory:" else os.path.join(self.folder, name)
        c = engines.open_(self.engine, path)
        self.conns.append(c)
        return c

    def sql(self, conn, sql, params=()):
        """Runs SQL; returns rows, or None when SQLite (or the extension) refused it."""
        if self.verbose:
            print(f"  {sql[:300]}" + (f"  -- {params!r}"[:200] if params else ""))
        try:
            rows = conn.execute(sql, params)
            if self.verbose:
                print(f"    -> {rows[:5]!r}"[:300])
            return rows
        except SQLError as e:
            if self.verbose:
                print(f"    !! {e.message[:200]}")
            return None

    def problem(self, text):
        self.problems.append(text)

    def close(self):
        for c in self.conns:
            try:
                c.close()
            except Exception:
                pass


def make_collection(ctx, conn, options=None, docs=0):
    r = ctx.r
    options = options if options is not None else gen_options(r)
    ok = ctx.sql(conn, f"CREATE VIRTUAL TABLE ev USING shards({options})") is not None
    if ok:
        for _ in range(docs):
            ctx.sql(conn, "INSERT INTO ev(doc) VALUES (?)", (gen_document(r),))
    return ok


# MARK: - surfaces


def case_options(ctx):
    c = ctx.open(":memory:")
    if make_collection(ctx, c, gen_options(ctx.r, usable=ctx.r.random() < 0.5), docs=ctx.r.randint(0, 5)):
        ctx.sql(c, "SELECT * FROM ev")
        ctx.sql(c, "SELECT * FROM shard_list('ev')")
        ctx.sql(c, "DROP TABLE ev")


def case_documents(ctx):
    r = ctx.r
    c = ctx.open("db")
    if not make_collection(ctx, c):
        return
    for _ in range(r.randint(1, 25)):
        if r.random() < 0.15:
            ctx.sql(c, "SELECT shard_insert('ev', ?)", (gen_document(r),))
        elif r.random() < 0.1:
            ctx.sql(c, "INSERT INTO ev(doc, ts) VALUES (?, ?)", (gen_document(r), gen_time(r)))
        elif r.random() < 0.05:
            ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (r.choice([b"{\"ts\":1}", b"\xff\xfe", 5, 1.5, None]),))
        else:
            ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (gen_document(r),))
    if r.random() < 0.3:
        ctx.sql(c, "UPDATE ev SET doc = ? WHERE id = (SELECT max(id) FROM ev)", (gen_document(r),))
    if r.random() < 0.3:
        ctx.sql(c, "DELETE FROM ev WHERE id % 2 = 0")
    check_consistent(ctx, c, write=False)


def case_paths(ctx):
    r = ctx.r
    c = ctx.open(":memory:")
    p = gen_path(r).replace("'", "''")
    ctx.sql(c, f"CREATE VIRTUAL TABLE e1 USING shards(time = '{p}')")
    ctx.sql(c, f"CREATE VIRTUAL TABLE e2 USING shards(index = '{p}')")
    ctx.sql(c, f"CREATE VIRTUAL TABLE e3 USING shards(category = '{p}')")
    if make_collection(ctx, c, "time = '$.ts', index = '$.type'", docs=5):
        ctx.sql(c, "SELECT ensure_json_index('ev', ?)", (gen_path(r),))
        ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (gen_document(r),))
        ctx.sql(c, "SELECT count(*) FROM ev(?)", (json.dumps({gen_path(r): gen_value(r)}),))


def case_queries(ctx):
    r = ctx.r
    c = ctx.open(":memory:")
    if not make_collection(ctx, c, "time = '$.ts', index = '$.type', index = 'uid: $.user.id', max_rows = 3", docs=15):
        return
    for _ in range(r.randint(1, 8)):
        q = json.dumps(gen_query_document(r)) if r.random() < 0.9 else r.choice(["{", "", "[1]", "{\"a\":{\"$in\":5}}"])
        ctx.sql(c, r.choice(["SELECT count(*) FROM ev(?)", "SELECT id, doc, filter FROM ev WHERE filter = ?",
                             "SELECT id FROM ev WHERE filter = ? ORDER BY ts DESC LIMIT 3",
                             "SELECT count(*) FROM ev WHERE filter = ? OR id = 1"]), (q,))


def gen_where(r):
    terms = []
    for _ in range(r.randint(0, 3)):
        col = r.choice(["id", "ts", "shard", "type", "uid"])
        op = r.choice(["=", "<", "<=", ">", ">=", "IN", "IS NULL", "LIKE", "GLOB", "!=", "BETWEEN"])
        if col == "shard":
            v = r.choice(["'ev:2025:01:001'", "'ev:2025:0%'", "'%002'", "'ev:2025:01:*'", "'*1'", "'EV:2025%'", "5", "NULL"])
        elif col == "id":
            v = str(r.choice([1099511627777, 2199023255553, 3298534883330, 0, -1, 2 ** 63 - 1, r.randint(0, 5 * 2 ** 40)]))
        elif col == "ts":
            v = str(r.choice([1735689600000, 1736000000000, 1738368000000, 0, 2 ** 63 - 1, -2 ** 63])) if r.random() < 0.8 else r.choice(["'2025-01-01'", "1.5e12", "NULL", "'x'"])
        else:
            v = r.choice(["'a'", "'click'", "1", "0", "2.0", "NULL", "'1'", "x'00'"])
        if op == "IN":
            terms.append(f"{col} IN ({v}, {v}, 7)" if r.random() < 0.7 else f"{col} IN (SELECT {col} FROM p)")
        elif op == "IS NULL":
            terms.append(f"{col} IS NULL")
        elif op == "BETWEEN":
            terms.append(f"{col} BETWEEN {v} AND {v}")
        else:
            terms.append(f"{col} {op} {v}")
    join = r.choice([" AND ", " AND ", " OR "])
    return (" WHERE " + join.join(terms)) if terms else ""


def case_sql(ctx):
    """The differential: a collection and a plain table with the same rows must answer alike."""
    r = ctx.r
    c = ctx.open("db")
    opts = r.choice(["time = '$.ts', index = '$.type', index = 'uid: $.user.id', max_rows = 3",
                     "time = '$.ts', index = '$.type', index = 'uid: $.user.id', max_rows = 2, partition = day",
                     "time = '$.ts', index = '$.type', index = 'uid: $.user.id', category = '$.app', max_rows = 4"])
    if ctx.sql(c, f"CREATE VIRTUAL TABLE ev USING shards({opts})") is None:
        return
    for i in range(r.randint(5, 30)):
        d = {"ts": r.randint(1735689600000, 1740000000000), "type": r.choice(["a", "click", 1, None, 2.0, "1"]),
             "user": {"id": r.choice([1, 2, "1", None])}, "app": r.choice(["x", "y"])}
        ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (json.dumps(d),))
    if r.random() < 0.3:
        ctx.sql(c, "SELECT shard_compress('ev', '2025-02-01')")
    ctx.sql(c, "CREATE TABLE p AS SELECT id, ts, shard, doc, type, uid FROM ev")
    for _ in range(r.randint(1, 6)):
        cols = r.choice(["id", "ts", "id, shard", "count(*)", "doc", "type, uid", "id, ts, type"])
        where = gen_where(r)
        order = r.choice(["", "", " ORDER BY id", " ORDER BY id DESC", " ORDER BY ts", " ORDER BY ts DESC, id DESC"])
        if cols == "count(*)":
            order = ""
        limit = r.choice(["", "", f" LIMIT {r.randint(0, 6)}", f" LIMIT {r.randint(1, 5)} OFFSET {r.randint(0, 4)}"])
        a = ctx.sql(c, f"SELECT {cols} FROM ev{where}{order}{limit}")
        b = ctx.sql(c, f"SELECT {cols} FROM p{where}{order}{limit}")
        if (a is None) != (b is None):
            ctx.problem(f"differential: one side failed: SELECT {cols} FROM ev{where}{order}{limit}")
            continue
        if a is None:
            continue
        if not limit and not order:
            same = sorted(map(repr, a)) == sorted(map(repr, b))
        elif not limit and order:
            same = (a == b) if "id" in order else sorted(map(repr, a)) == sorted(map(repr, b))
        elif order.startswith(" ORDER BY id"):
            same = a == b
        else:
            same = len(a) == len(b)
        if not same:
            ctx.problem(f"differential: SELECT {cols} FROM ev{where}{order}{limit}: {a[:4]} vs {b[:4]}")


def zstd_rle_frame(claimed, byte=b"x", flip=None):
    out = struct.pack("<I", 0xFD2FB528) + bytes([0xE0]) + struct.pack("<Q", claimed)
    left = claimed
    while left > 0:
        n = min(left, 1 << 17)
        left -= n
        out += struct.pack("<I", (1 if left == 0 else 0) | (1 << 1) | (n << 3))[:3] + byte
    return out


def case_blocks(ctx):
    r = ctx.r
    c = ctx.open("db")
    blobs = []
    if make_collection(ctx, c, "time = '$.ts', index = '$.type'", docs=0):
        for i in range(r.randint(1, 30)):
            ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": 1735689600000 + i, "type": gen_value(r)}),))
        ctx.sql(c, "SELECT shard_compress('ev', '2025-02-01')")
        tbl = ctx.sql(c, "SELECT tbl FROM shard_list('ev') WHERE state = 'compressed'")
        if tbl:
            blobs = [row[0] for row in ctx.sql(c, f"SELECT data FROM \"{tbl[0][0]}-z\"") or []]
    for _ in range(r.randint(1, 6)):
        k = r.random()
        if blobs and k < 0.5:
            b = bytearray(r.choice(blobs))
            for _ in range(r.randint(1, 8)):
                if b:
                    b[r.randrange(len(b))] = r.randrange(256)
            if r.random() < 0.3:
                b = b[:r.randrange(len(b) + 1)]
            blob = bytes(b)
        elif k < 0.7:
            blob = zstd_rle_frame(r.choice([0, 8, 100, 1 << 20, 1 << 24, (1 << 24) + 1, 1 << 30]),
                                  r.choice([b"x", b"S", b"\x00", b"\xff"]))
        elif k < 0.85:
            body = b"SHB1" + struct.pack("<I", r.choice([0, 1, 2, 2 ** 32 - 1]))
            body += struct.pack("<qqI", 1, 2, r.choice([0, 3, 2 ** 32 - 1])) + b"{}x"
            blob = body  # not compressed at all
        else:
            blob = bytes(r.randrange(256) for _ in range(r.randint(0, 64)))
        ctx.sql(c, "SELECT count(*), sum(length(doc)) FROM shards_block(?)", (blob,))
        ctx.sql(c, "SELECT * FROM shards_block(?, ?, ?, ?)", (blob, blob[:20], r.randint(-5, 5), gen_scalar(r)))


def check_consistent(ctx, c, write=True):
    """The collection agrees with its catalog and (with `write`) still takes a write."""
    n = ctx.sql(c, "SELECT count(*) FROM ev")
    listed = ctx.sql(c, "SELECT coalesce(sum(rows), 0) FROM shard_list('ev')")
    if n is not None and listed is not None and n[0][0] != listed[0][0]:
        ctx.problem(f"inconsistent: count(*) = {n[0][0]}, shard_list rows = {listed[0][0]}")
    if n is not None and write:
        before = n[0][0]
        if ctx.sql(c, "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-03-03\",\"type\":\"check\"}')") is None:
            ctx.problem("inconsistent: a plain insert fails afterwards")
        else:
            after = ctx.sql(c, "SELECT count(*) FROM ev")
            if after is None or after[0][0] != before + 1:
                ctx.problem(f"inconsistent: count after one insert {after} (was {before})")


def case_lifecycle(ctx):
    r = ctx.r
    c = ctx.open("db")
    opts = "time = '$.ts', index = '$.type', max_rows = " + str(r.choice([2, 3, 50])) + \
        r.choice(["", "", ", buffer = 3, flush_ms = 100000", ", buffer = 10, flush_ms = 100000", ", retain = '40 days'"]) + \
        r.choice(["", ", category = '$.app'"])
    if ctx.sql(c, f"CREATE VIRTUAL TABLE ev USING shards({opts})") is None:
        return
    depth = 0
    for _ in range(r.randint(3, 30)):
        k = r.random()
        month = r.randint(1, 4)
        doc = json.dumps({"ts": f"2025-{month:02d}-{r.randint(1, 28):02d}", "type": r.choice(["a", "b"]), "app": r.choice(["x", "y"])})
        if k < 0.4:
            ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (doc,))
        elif k < 0.45:
            ctx.sql(c, "SELECT shard_insert('ev', value) FROM json_each(?)", (json.dumps([json.loads(doc)] * r.randint(1, 4)),))
        elif k < 0.5:
            ctx.sql(c, "DELETE FROM ev WHERE id = (SELECT max(id) FROM ev)")
        elif k < 0.53:
            ctx.sql(c, "DELETE FROM ev WHERE ts > 0")
        elif k < 0.58:
            ctx.sql(c, f"SELECT shard_compress('ev', '2025-0{month}-01')")
        elif k < 0.63:
            ctx.sql(c, f"SELECT shard_drop('ev', '2025-0{month}-01')")
        elif k < 0.67:
            ctx.sql(c, f"SELECT shard_archive('ev', '2025-0{month}-01', 'cold.db')")
        elif k < 0.7:
            ctx.sql(c, "SELECT shard_flush('ev')")
        elif k < 0.75 and depth == 0:
            if ctx.sql(c, "BEGIN") is not None:
                depth = 1
        elif k < 0.8 and depth > 0:
            if ctx.sql(c, f"SAVEPOINT s{depth}") is not None:
                depth += 1
        elif k < 0.85 and depth > 1:
            ctx.sql(c, f"ROLLBACK TO s{depth - 1}")
        elif k < 0.9 and depth > 0:
            ctx.sql(c, r.choice(["COMMIT", "ROLLBACK"]))
            depth = 0
        else:
            ctx.sql(c, "SELECT count(*), sum(type = 'a') FROM ev WHERE ts > 1735000000000")
    if depth:
        ctx.sql(c, r.choice(["COMMIT", "ROLLBACK"]))
    check_consistent(ctx, c)
    c.close()
    ctx.conns.remove(c)
    c2 = ctx.open("db")
    check_consistent(ctx, c2)


def case_times(ctx):
    r = ctx.r
    c = ctx.open(":memory:")
    part = r.choice(["year", "month", "day", "hour", "none"])
    unit = r.choice(["", ", time_unit = s"])
    if ctx.sql(c, f"CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', partition = {part}{unit}, retain = '1 days')") is None:
        return
    for _ in range(r.randint(1, 10)):
        t = gen_time(r)
        ctx.sql(c, "SELECT shard_key('ev', ?)", (t,))
        ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": t}),))
        ctx.sql(c, "SELECT count(*) FROM ev WHERE ts >= ? AND ts < ?", (t if not isinstance(t, str) else 0, 2 ** 62))
    for t in [gen_time(r) for _ in range(3)]:
        ctx.sql(c, "SELECT shard_drop('ev', ?)", (t,))
    ctx.sql(c, "SELECT * FROM shard_list('ev')")


def case_catalog(ctx):
    """Stored data as input: a catalog (or config) value changed by hand, then the
    collection used on a fresh connection. Errors are fine; a crash is not."""
    r = ctx.r
    c = ctx.open("db")
    if not make_collection(ctx, c, "time = '$.ts', index = '$.type', max_rows = 3" + r.choice(["", ", buffer = 4"]), docs=0):
        return
    for i in range(r.randint(1, 9)):
        ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": f"2025-0{r.randint(1, 3)}-0{r.randint(1, 9)}", "type": "a"}),))
    if r.random() < 0.3:
        ctx.sql(c, "SELECT shard_compress('ev', '2025-02-01')")
    extreme = [0, -1, 1, 2, 2 ** 23, 2 ** 23 - 1, 2 ** 40, 2 ** 40 - 1, 2 ** 62, 2 ** 63 - 1, -2 ** 63, 1.5, "x", "", None,
               "2025:13", "ev_2025-01-001", "sqlite_schema", "cold.db", "../x.db", "/etc/passwd", "compressed", "archived",
               "retired", "retired-compressed", "hot", "bogus"]
    for _ in range(r.randint(1, 3)):
        if r.random() < 0.8:
            col = r.choice(["num", "rows", "last_local", "min_id", "max_id", "min_ts", "max_ts", "seq", "period", "state",
                            "file", "tbl", "category", "period_start", "period_end"])
            ctx.sql(c, f"UPDATE ev_shards SET {col} = ? WHERE rowid = (SELECT min(rowid) FROM ev_shards)", (r.choice(extreme),))
        else:
            key = r.choice(["next_number", "storage", "owner_id", "path:$.x", "path:$[", "created_with"])
            ctx.sql(c, "INSERT OR REPLACE INTO ev_config(key, value) VALUES (?, ?)", (key, r.choice(extreme)))
    c.close()
    ctx.conns.remove(c)
    c = ctx.open("db")
    for sql in ["SELECT count(*), sum(length(doc)) FROM ev", "SELECT * FROM shard_list('ev')",
                "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-01-05\",\"type\":\"b\"}')",
                "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-06-05\",\"type\":\"b\"}')",
                "SELECT id, ts FROM ev WHERE type = 'a' ORDER BY ts DESC LIMIT 3", "DELETE FROM ev WHERE id % 2 = 1",
                "SELECT shard_compress('ev', '2025-03-01')", "SELECT shard_drop('ev', '2025-02-01')",
                "SELECT shard_archive('ev', '2025-04-01', 'cold.db')", "SELECT shard_flush('ev')", "DROP TABLE ev"]:
        if r.random() < 0.8:
            ctx.sql(c, sql)


def case_explain(ctx):
    """shards_explain with generated statements, nested calls and writes."""
    r = ctx.r
    c = ctx.open(":memory:")
    if not make_collection(ctx, c, "time = '$.ts', index = '$.type', max_rows = 2", docs=4):
        return
    inner = r.choice(["SELECT count(*) FROM ev", "SELECT shards_explain('ev', 'SELECT 1')", "UPDATE ev_config SET value = 1",
                      "DELETE FROM ev", "PRAGMA writable_schema = 1", "BEGIN", "COMMIT", "ATTACH 'x.db' AS x",
                      "SELECT 1; SELECT 2", "", "  ", "-- c", "SELECT * FROM ev WHERE type = 'a' ORDER BY ts LIMIT 1",
                      "WITH t AS (SELECT id FROM ev) SELECT count(*) FROM t", "VALUES (1)", "SELECT shard_insert('ev', '{}')",
                      "SELECT shard_drop('ev', '2030-01-01')", "SELECT ", "CREATE TABLE z(x)"])
    ctx.sql(c, "SELECT shards_explain('ev', ?)", (inner,))
    ctx.sql(c, "SELECT shards_explain('ev', ?) FROM ev", (inner,))
    if r.random() < 0.3:
        ctx.sql(c, "CREATE TRIGGER tr AFTER INSERT ON \"ev_2025-01-001\" BEGIN INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-01-02\"}'); END")
        ctx.sql(c, "INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-01-03\"}')")
        ctx.sql(c, "SELECT count(*) FROM ev")


def gen_rollup_options(r):
    parts = []
    if r.random() < 0.95:
        parts.append("source = " + r.choice(["ev", "ev", "ev", "nope", "sqlite_schema", "'ev'", ""]))
    units = ["minute", "hours", "day", "week", "months", "fortnight", "", "1.5 day", "0 day", "-1 hour"]
    if r.random() < 0.8:
        parts.append(f"bucket = '{r.choice(['1', '2', '7', '15', '100000', '100001', ''])} {r.choice(units)}'")
    for _ in range(r.choice([0, 1, 1, 2, 3])):
        parts.append("group = '" + r.choice(["", "g: "]) + gen_path(r).replace("'", "''") + "'")
    kinds = ["count", "sum({p})", "min({p})", "max({p})", "avg({p})", "distinct({p})", "quantile({p}, {q})", "median({p})", "sum()"]
    for i in range(r.choice([0, 1, 2, 3, 5])):
        k = r.choice(kinds).format(p=r.choice(["$.n", "$.type", "$.ts", gen_path(r)]).replace("'", "''"),
                                   q=r.choice(["0", "0.5", "1", "1.5", "-0", "x"]))
        parts.append(f"measure = '{r.choice(['m', 'n', 'bucket', 'x y', 'm'])}{i}: {k}'")
    if r.random() < 0.2:
        parts.append(f"retain = '{r.choice(['1 days', '3 months', '0 days', 'x'])}'")
    if r.random() < 0.1:
        parts.append(r.choice(["foo = 1", "source = ev", "bucket = day"]))
    r.shuffle(parts)
    return ", ".join(parts)


def case_rollups(ctx):
    r = ctx.r
    c = ctx.open("db")
    opts = "time = '$.ts', partition = " + r.choice(["day", "hour", "month"]) + r.choice(["", ", buffer = 3", ", max_rows = 4"])
    if not make_collection(ctx, c, opts, docs=r.randint(0, 30)):
        return
    valid = "source = ev, bucket = '" + r.choice(["1 hour", "1 day", "1 week", "1 month", "7 minutes"]) + \
        "', group = '$.type', measure = 'n: count', measure = 's: sum($.n)', measure = 'u: distinct($.n)', measure = 'q: quantile($.n, 0.9)'"
    options = gen_rollup_options(r) if r.random() < 0.4 else valid
    made = ctx.sql(c, f"CREATE VIRTUAL TABLE r USING shards_rollup({options})") is not None
    if not made:
        options = valid
        made = ctx.sql(c, f"CREATE VIRTUAL TABLE r USING shards_rollup({options})") is not None
    if not made:
        ctx.problem("a valid rollup cannot be created")
        return
    dropped = False
    for _ in range(r.randint(1, 12)):
        x = r.random()
        if x < 0.3:
            ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)", (gen_document(r),))
        elif x < 0.4:
            ctx.sql(c, "SELECT shard_rollup_refresh('r')")
        elif x < 0.45:
            ctx.sql(c, f"SELECT shard_drop('ev', '{gen_time(r)}')")
            dropped = True
        elif x < 0.5:
            ctx.sql(c, f"SELECT shard_compress('ev', '{gen_time(r)}')")
        elif x < 0.55:
            ctx.sql(c, "DELETE FROM ev WHERE id = (SELECT max(id) FROM ev)")
        else:
            col = r.choice(["bucket", "bucket_ms", "type", "n", "rowid"])
            op = r.choice(["=", "<", ">=", "IN", "BETWEEN", "IS", "LIKE"])
            v = r.choice([gen_scalar(r), "'2025-01-01'", "'2025'", "1735689600000", "NULL", "'click'"])
            rhs = f"({v}, {gen_scalar(r)})" if op == "IN" else f"{v} AND {gen_scalar(r)}" if op == "BETWEEN" else str(v)
            ctx.sql(c, f"SELECT * FROM r WHERE {col} {op} {rhs} ORDER BY {r.choice(['bucket', 'bucket_ms DESC', 'n', '1'])}")
    if not dropped and r.random() < 0.25:
        hot_prefix_round(ctx, c)
    # A generated rollup may have no count measure `n`, or a group column named n
    # (a path ending in .n): the documents are counted through the valid one only.
    if not dropped and options == valid:
        total = ctx.sql(c, "SELECT count(*) FROM ev")
        counted = ctx.sql(c, "SELECT coalesce(sum(n), 0) FROM r")
        if total is not None and counted is not None and total[0][0] != counted[0][0]:
            ctx.problem(f"rollup counts {counted[0][0]} documents, the collection {total[0][0]}")
    ctx.sql(c, "DROP TABLE r")


def hot_prefix_round(ctx, c):
    """A rollup without sketches (the writer keeps the hot shard's parts and writes
    them as its prefix about every 1,024 rows), 1,100 generated rows into one day,
    then a change; another connection, which reads the prefix, must count what
    GROUP BY counts, per bucket and type."""
    r = ctx.r
    if ctx.sql(c, "CREATE VIRTUAL TABLE h USING shards_rollup(source = ev, bucket = '1 day', group = '$.type', "
                  "measure = 'n: count', measure = 's: sum($.n)', measure = 'lo: min($.n)')") is None:
        return
    day = 1736121600000 + r.randint(0, 3) * 86_400_000
    docs = [json.dumps({"ts": day + i * 60_000 + r.randint(0, 59_999),
                        "type": gen_value(r) if r.random() < 0.05 else r.choice(["click", "view", "buy"]),
                        "n": gen_value(r) if r.random() < 0.05 else r.randint(-5, 500)}) for i in range(1_100)]
    ctx.sql(c, "INSERT INTO ev(doc) SELECT value FROM json_each(?)", (json.dumps(docs),))
    change = r.choice(["none", "update", "delete", "rollback", "more"])
    if change == "update":
        ctx.sql(c, "UPDATE ev SET doc = json_set(doc, '$.type', 'upd') WHERE id = (SELECT min(id) FROM ev WHERE ts >= ?)", (day,))
    elif change == "delete":
        ctx.sql(c, "DELETE FROM ev WHERE id = (SELECT min(id) FROM ev WHERE ts >= ?)", (day,))
    elif change == "rollback":
        ctx.sql(c, "BEGIN")
        ctx.sql(c, "INSERT INTO ev(doc) SELECT value FROM json_each(?)", (json.dumps(docs),))
        ctx.sql(c, "ROLLBACK")
    elif change == "more":
        ctx.sql(c, "INSERT INTO ev(doc) SELECT value FROM json_each(?)", (json.dumps(docs[:1_000]),))
    reader = ctx.open("db")
    got = ctx.sql(reader, "SELECT bucket_ms, type, n FROM h ORDER BY 1, 2")
    want = ctx.sql(reader, "SELECT ts - ((ts % 86400000) + 86400000) % 86400000, json_extract(doc, '$.type'), count(*) FROM ev "
                                "GROUP BY 1, 2 ORDER BY 1, 2")
    if got is not None and want is not None and got != want:
        ctx.problem(f"after 1,100 rows and {change}: the rollup's counts on another connection differ from GROUP BY "
                    f"({len(got)} and {len(want)} rows, first {[x for x in got if x not in want][:2]} / {[x for x in want if x not in got][:2]})")
    ctx.sql(c, "DROP TABLE h")


# MARK: - concurrent lifecycle


CONCURRENT_SECONDS = 2.0
HOUR_MS = 3600_000
BASE_MS = 1735689600000          # 2025-01-01


def case_concurrent(ctx):
    """W inserts (documents a few minutes apart), L loops one lifecycle call, R
    counts; each is a process of its own, stopped by its pid if it overruns. Then
    every acknowledged row must be there (but those a drop's cutoff may take), the
    collection must agree with its catalog, and no process may have seen an error
    but SQLITE_BUSY (which it retries)."""
    r = ctx.r
    partition = r.choice(["hour", "day"])
    period_ms = HOUR_MS if partition == "hour" else 24 * HOUR_MS
    step_ms = period_ms // r.choice([6, 12, 40])
    opts = f"partition = {partition}, time = '$.ts', max_rows = {r.choice([2, 4, 8, 50])}, index = '$.type'" + \
        r.choice(["", "", f", buffer = {r.choice([3, 20])}"]) + r.choice(["", ", category = '$.app'"]) + \
        r.choice(["", ", merge = none"])
    action = r.choice(["drop0", "drop-old", "merge-all", "merge-old", "compress-old"])
    path = os.path.join(ctx.folder, "db")
    c = ctx.open("db")
    if ctx.sql(c, "PRAGMA journal_mode = wal") is None or \
            ctx.sql(c, f"CREATE VIRTUAL TABLE ev USING shards({opts})") is None:
        ctx.problem(f"cannot create the collection ({opts})")
        return
    if ctx.verbose:
        print(f"  -- concurrent: {opts}; L: {action}")
    roles = {"W": ["writer", str(step_ms)], "L": ["lifecycle", action, str(period_ms)], "R": ["reader"]}
    procs = {k: subprocess.Popen([sys.executable, __file__, "--actor", ctx.engine, path, str(CONCURRENT_SECONDS), *v],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
             for k, v in roles.items()}
    out = {}
    for k, p in procs.items():
        try:
            o, e = p.communicate(timeout=CONCURRENT_SECONDS + 30)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, 9)
            o, e = p.communicate()
            ctx.problem(f"concurrent: {k} hung")
        lines = o.decode(errors="replace").splitlines()
        if p.returncode != 0 or "END" not in lines:
            ctx.problem(f"concurrent: {k} exited {p.returncode}: {e.decode(errors='replace')[-300:]}")
        out[k] = lines
        for line in lines:
            if line.startswith("S "):
                # SQLite gave up re-preparing after 50 schema changes in a row: its own
                # limit under this churn, which a plain table's reads meet as often
                # (test_concurrency.py schema-churn measures both). Counted, retried.
                print(f"N schema-churn {k}", flush=True)
            elif line.startswith("E "):
                ctx.problem(f"concurrent ({opts}; {action}): {k} saw {line[2:][:200]}")
                break
    acked = [int(line[2:]) for line in out["W"] if line.startswith("A ")]
    cutoff = max((int(line[2:]) for line in out["L"] if line.startswith("C ")), default=None)
    rows = ctx.sql(c, "SELECT json_extract(doc, '$.seq') FROM ev")
    if rows is None:
        ctx.problem(f"concurrent ({opts}; {action}): the collection cannot be read afterwards")
        return
    present = {row[0] for row in rows}
    lost = [q for q in acked if q not in present and (cutoff is None or BASE_MS + q * step_ms >= cutoff)]
    if lost:
        ctx.problem(f"concurrent ({opts}; {action}): {len(lost)} of {len(acked)} acknowledged rows lost, first {lost[:5]}")
    if len(rows) != len(present):
        ctx.problem(f"concurrent ({opts}; {action}): {len(rows) - len(present)} rows twice")
    check_consistent(ctx, c, write=True)


def actor_busy(e):
    return (e.code & 0xFF) == 5


def actor_schema(e):
    """SQLITE_SCHEMA: SQLite re-prepared the statement 50 times, the schema changed
    again each time; nothing was done, and retrying is what SQLite documents."""
    return (e.code & 0xFF) == 17 or "schema has changed" in e.message


def actor(engine, path, seconds, role, *args):
    """One process of case_concurrent: prints `A <seq>` per acknowledged insert, `C
    <cutoff>` per drop's cutoff, `S` per SQLITE_SCHEMA (retried), `E <error>` per
    other error that is not SQLITE_BUSY."""
    conn = engines.open_(engine, path)
    deadline = time.time() + seconds
    seq = 0
    while time.time() < deadline:
        try:
            if role == "writer":
                doc = json.dumps({"ts": BASE_MS + seq * int(args[0]), "seq": seq, "type": "ab"[seq % 2], "app": "xyz"[seq % 3]})
                conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc,))
                print(f"A {seq}", flush=True)
                seq += 1
            elif role == "lifecycle":
                action, period = args[0], int(args[1])
                newest = conn.execute(f"SELECT coalesce(max(ts), {BASE_MS}) FROM ev")[0][0]
                old = newest - 2 * period
                if action == "drop-old":
                    print(f"C {old}", flush=True)
                sql = {"drop0": "SELECT shard_drop('ev', 0)", "drop-old": f"SELECT shard_drop('ev', {old})",
                       "merge-all": f"SELECT shard_merge('ev', {newest + 400 * 24 * HOUR_MS})",
                       "merge-old": f"SELECT shard_merge('ev', {old})",
                       "compress-old": f"SELECT shard_compress('ev', {old})"}[action]
                conn.execute(sql)
                time.sleep(0.005)
            else:
                conn.execute("SELECT count(*) FROM ev")
                conn.execute("SELECT count(*) FROM ev WHERE type = 'a' AND ts >= ?", (BASE_MS + 6 * HOUR_MS,))
        except SQLError as e:
            if actor_schema(e):
                print("S", flush=True)
            elif not actor_busy(e):
                print(f"E {e.message}", flush=True)
    try:
        conn.close()
    except Exception as e:  # noqa: BLE001 - reported, not raised
        print(f"E close: {e}", flush=True)
    print("END", flush=True)
def case_tamper(ctx):
    """A catalog tampered with in ways its checks must catch (issue 18): answers on a
    fresh connection are the true ones or the "inconsistent" error, never another."""
    r = ctx.r
    c = ctx.open("db")
    opts = "time = '$.ts', partition = 'day', index = '$.type', merge = 'none', max_rows = " + str(r.choice([2, 3, 5]))
    if not make_collection(ctx, c, opts, docs=0):
        return
    types = ["a", "b", "c", "d", "e"]
    for _ in range(r.randint(4, 24)):
        ctx.sql(c, "INSERT INTO ev(doc) VALUES (?)",
                (json.dumps({"ts": f"2025-0{r.randint(1, 3)}-{r.randint(1, 5):02d}", "type": r.choice(types)}),))
    ctx.sql(c, f"SELECT shard_merge('ev', '2025-0{r.randint(1, 4)}-01')")   # merges, then summarizes what is sealed
    if r.random() < 0.3:
        ctx.sql(c, f"SELECT shard_compress('ev', '2025-0{r.randint(1, 4)}-01')")
    ids = [row[0] for row in ctx.sql(c, "SELECT id FROM ev ORDER BY id") or []]
    long_list = json.dumps(r.sample(types, 2) + [f"p{i}" for i in range(100)])
    queries = [("SELECT count(*) FROM ev", ()), ("SELECT id FROM ev ORDER BY ts DESC, id DESC LIMIT 3", ()),
               ("SELECT count(*) FROM ev WHERE type IN (SELECT value FROM json_each(?))", (long_list,))]
    queries += [("SELECT count(*) FROM ev WHERE type = ?", (t,)) for t in types + ["zz"]]
    queries += [("SELECT id, type FROM ev WHERE id = ?", (i,)) for i in r.sample(ids, min(3, len(ids)))]
    truth = [ctx.sql(c, q, p) for q, p in queries]
    rows = ctx.sql(c, "SELECT num, merged_into, summary IS NOT NULL FROM ev_shards ORDER BY num") or []
    if not rows:
        return
    nums = [row[0] for row in rows]
    merged = [row[0] for row in rows if row[1] is not None]
    summarized = [row[0] for row in rows if row[2]]
    k = r.random()
    if k < 0.35:
        surface = "merged_into"
        victim = r.choice(merged if merged and r.random() < 0.7 else nums)
        live_tables = [n for n, into, _ in rows if into is None and n != victim]
        value = r.choice([victim, max(nums) + r.randint(1, 50), -1, 0, "x", 1.5, 2 ** 63 - 1, -2 ** 63]
                         + [n for n in live_tables if n not in {into for _, into, _ in rows}][:1])
        ctx.sql(c, "UPDATE ev_shards SET merged_into = ? WHERE num = ?", (value, victim))
    elif k < 0.7 and summarized:
        surface = "summary"
        victim = r.choice(summarized)
        blob = bytearray((ctx.sql(c, "SELECT summary FROM ev_shards WHERE num = ?", (victim,)) or [[b""]])[0][0] or b"")
        how = r.random()
        if how < 0.6 and blob:
            for _ in range(r.randint(1, 3)):
                blob[r.randrange(len(blob))] ^= r.randint(1, 255)
        elif how < 0.8:
            other = r.choice(summarized)
            blob = bytearray((ctx.sql(c, "SELECT summary FROM ev_shards WHERE num = ?", (other,)) or [[b""]])[0][0] or b"")
        else:
            blob = blob[:r.randint(0, len(blob))] + bytes(r.randrange(256) for _ in range(r.randint(0, 4)))
        ctx.sql(c, "UPDATE ev_shards SET summary = ? WHERE num = ?", (bytes(blob), victim))
    else:
        surface = "counters"
        col = r.choice(["rows", "seq", "last_local", "num", "part", "min_id", "max_id", "min_ts", "max_ts", "next_number"])
        # Values no integer column turns into an integer (" 1" and 0.0 would become 1 and 0).
        value = r.choice(["abc", "y", "", "12abc", 1.5, -0.5, b"\x01", "9e999"])
        if col == "next_number":
            ctx.sql(c, "UPDATE ev_config SET value = ? WHERE key = 'next_number'", (value,))
        else:
            ctx.sql(c, f"UPDATE ev_shards SET {col} = ? WHERE num = ?", (value, r.choice(nums)))
    c.close()
    ctx.conns.remove(c)
    fresh = ctx.open("db")
    for (q, p), want in zip(queries, truth):
        try:
            got = fresh.execute(q, p)
        except SQLError as e:
            if "inconsistent" not in e.message:
                ctx.problem(f"{surface}: {q}: error {e.message!r}, wanted the answer or the catalog's 'inconsistent'")
            continue
        if want is not None and got != want:
            ctx.problem(f"{surface}: {q} {p}: {got}, before the tampering {want}")


SURFACES = {
    "catalog": case_catalog, "explain": case_explain, "tamper": case_tamper,
    "options": case_options, "documents": case_documents, "paths": case_paths, "queries": case_queries,
    "sql": case_sql, "blocks": case_blocks, "lifecycle": case_lifecycle, "times": case_times,
    "rollups": case_rollups,
}
SURFACES["concurrent"] = case_concurrent


def case_rng(seed, batch, index):
    return random.Random(f"{seed}/{batch}/{index}")


def run_case(engine, seed, batch, index, verbose=False):
    r = case_rng(seed, batch, index)
    # FUZZ_SURFACES=tamper,catalog keeps to those surfaces (give it to --replay too).
    only = [x for x in os.environ.get("FUZZ_SURFACES", "").split(",") if x]
    surface = r.choice(sorted(only or SURFACES))
    folder = tempfile.mkdtemp(prefix="shards-fuzz-")
    ctx = Ctx(engine, r, folder, verbose)
    try:
        SURFACES[surface](ctx)
    finally:
        ctx.close()
        shutil.rmtree(folder, ignore_errors=True)
    return surface, ctx.problems


# MARK: - processes


def child(engine, seed, batch, first, count):
    for i in range(first, first + count):
        print(f"C {i}", flush=True)
        surface, problems = run_case(engine, seed, batch, i)
        for p in problems:
            print(f"P {i} {surface} {p}", flush=True)
    print("DONE", flush=True)


# Outcomes a case counts instead of failing (`N <what>` lines): SQLite's own limits
# that a test elsewhere measures against a plain table. The summary prints how many,
# so a count never hides what it counts.
KNOWN = {}


def run_batch(engine, seed, batch):
    """Runs a batch in a child; returns (cases run, failures as (index, text))."""
    failures = []
    first = 0
    while first < CASES_PER_BATCH:
        try:
            # A batch of concurrent cases only takes their seconds each.
            timeout = BATCH_TIMEOUT + (CASES_PER_BATCH * (CONCURRENT_SECONDS + 3)
                                       if os.environ.get("FUZZ_SURFACES") == "concurrent" else 0)
            p = subprocess.run([sys.executable, __file__, "--child", engine, str(seed), str(batch), str(first),
                                str(CASES_PER_BATCH - first)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
            out, rc, err = p.stdout.splitlines(), p.returncode, p.stderr
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace").splitlines() if isinstance(e.stdout, bytes) else (e.stdout or "").splitlines()
            rc, err = "timeout", ""
        last = first
        for line in out:
            if line.startswith("C "):
                last = int(line.split()[1])
            elif line.startswith("P "):
                _, i, surface, text = line.split(" ", 3)
                failures.append((int(i), f"{surface}: {text}"))
            elif line.startswith("N "):
                KNOWN[line.split()[1]] = KNOWN.get(line.split()[1], 0) + 1
        if out and out[-1] == "DONE" and rc == 0:
            return CASES_PER_BATCH, failures
        why = f"child died (signal {-rc})" if isinstance(rc, int) and rc < 0 else \
            "hung (timeout)" if rc == "timeout" else f"child exited {rc}"
        tail = " | ".join(l for l in err.strip().splitlines()[-3:])[:400]
        failures.append((last, f"{why}: {tail}"))
        first = last + 1   # carry on after the case that killed it
    return CASES_PER_BATCH, failures


def main():
    ap = argparse.ArgumentParser(description="Fuzz the shards extension in child processes.")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=None, help="default: a fresh one (printed)")
    ap.add_argument("--engine", choices=["apsw", "c", "both"], default="both")
    ap.add_argument("--replay", help="S/B/I: run case I of batch B of seed S again, printing its SQL")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        engine, seed, batch, first, count = a.child
        child(engine, int(seed), int(batch), int(first), int(count))
        return
    if a.replay:
        seed, batch, index = map(int, a.replay.split("/"))
        for engine in (["apsw", "c"] if a.engine == "both" else [a.engine]):
            print(f"-- {engine} {engines.version(engine)}: case {a.replay}")
            p = subprocess.run([sys.executable, __file__, "--replay-one", engine, a.replay], cwd=ROOT)
            print(f"-- exit {p.returncode}")
        return
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 10 ** 9)
    print(f"fuzz seed {seed} ({a.minutes:g} min, engines {a.engine}); replay a case with: scripts/fuzz --replay {seed}/B/I", flush=True)
    deadline = time.time() + a.minutes * 60
    engines_used = ["apsw", "c"] if a.engine == "both" else [a.engine]
    batch = cases = 0
    failures = []
    by_engine = {e: 0 for e in engines_used}
    while time.time() < deadline:
        engine = engines_used[batch % len(engines_used)]
        n, f = run_batch(engine, seed, batch)
        cases += n
        by_engine[engine] += n
        for i, text in f:
            failures.append((engine, batch, i, text))
            print(f"FAIL  {engine} case {seed}/{batch}/{i}: {text}\n      replay: scripts/fuzz --replay {seed}/{batch}/{i} --engine {engine}", flush=True)
        batch += 1
    counts = ", ".join(f"{n} on {e} {engines.version(e)}" for e, n in by_engine.items())
    known = "".join(f"; {n} times {what}" for what, n in sorted(KNOWN.items()))
    print(f"fuzz seed {seed}: {cases} cases ({counts}), {len(failures)} failed{known}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--actor":
        actor(sys.argv[2], sys.argv[3], float(sys.argv[4]), *sys.argv[5:])
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "--replay-one":
        seed, batch, index = map(int, sys.argv[3].split("/"))
        surface, problems = run_case(sys.argv[2], seed, batch, index, verbose=True)
        print(f"-- surface {surface}: " + ("; ".join(problems) if problems else "no problem found"))
        sys.exit(1 if problems else 0)
    main()
