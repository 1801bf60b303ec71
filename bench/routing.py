"""Read-path benchmark: a `shards` collection against one plain SQLite table holding
the same documents, in the same database file, on the same connection.

Run it through the wrapper, which builds the release library and the venv first:

    scripts/bench-routing                       # 1,000,000 events, 9 repetitions
    scripts/bench-routing --events 200000 --reps 5 --db /tmp/bench.db --markdown

What it does:

1. Generates N realistic events (about 180 bytes of JSON each, deterministic from
   --seed): `ts` in epoch ms spread over the 12 months of 2024 and arriving mostly
   in time order (a few late), `type` among 20 values with a skewed distribution,
   `user.id` among 50k (a few heavy users), `app` among 4 values, a url, a session,
   a country, a duration.
2. Loads them into
       CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts',
           max_rows = 10000, index = '$.type', index = 'user: $.user.id')
   with `SELECT shard_insert('events', value) FROM json_each(?)`, and into
       plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB)   -- doc = jsonb(doc)
   (indexes on ts, json_extract(doc,'$.type'), json_extract(doc,'$.user.id'))
   with an executemany INSERT; one transaction per 50k rows each, WAL,
   synchronous=NORMAL. With --db PATH the database is kept and reused when it was
   built with the same --events, --seed and --max-rows.
3. Runs every query once to check that each collection query returns exactly what
   its plain counterpart returns (the run stops on any difference), then times
   them: --reps rounds, each round running every query once (fast queries are
   repeated in a loop so one sample lasts at least ~20 ms, and the time is divided
   back), with the order of the queries reversed every other round so that the
   collection and the plain side take turns going first. Each figure is printed as
   min / median in ms, and the ratio is collection median / plain median, both
   measured in the same run: the machine is shared and noisy, absolute
   milliseconds mean little, ratios are the result.

Nothing here is cached between queries apart from what SQLite itself caches (the
page cache, --cache-mb, is the same for both sides: one connection) and apsw's
prepared-statement cache (both sides alike).
"""
import argparse
import calendar
import gc
import math
import os
import shlex
import statistics
import sys
import tempfile
import time

import apsw

from events import YEAR, connect, generate, print_table, scalar

GENERATOR = 2  # bump when the generated data changes, so a kept --db is rebuilt

START = calendar.timegm((YEAR, 1, 1, 0, 0, 0)) * 1000
END = calendar.timegm((YEAR + 1, 1, 1, 0, 0, 0)) * 1000  # exclusive


# Query parameters (fixed; the counts they select are printed).
RARE_TYPE = "purchase"                            # ~1% of events
FEW_ROWS_USER = 31337                             # an ordinary user: ~10-20 events
HEAVY_USER = 42                                   # a heavy user: ~400 events
IN_TYPES = ("refund", "invite", "delete_account")  # ~1.8% together
MONTH = 6                                         # June 2024
MONTH_START = calendar.timegm((YEAR, MONTH, 1, 0, 0, 0)) * 1000
MONTH_END = calendar.timegm((YEAR, MONTH + 1, 1, 0, 0, 0)) * 1000 - 1  # BETWEEN is inclusive

LOAD_TX_ROWS = 50_000
INSERT_BATCH = 5_000


# ---------------------------------------------------------------- data


# ---------------------------------------------------------------- database


def meta_of(conn):
    if not scalar(conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'bench_meta'"):
        return None
    return dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())


def build(conn, args, log):
    t0 = time.perf_counter()
    docs, ts, _ = generate(args.events, args.seed, START, END)
    gen_s = time.perf_counter() - t0
    avg = sum(map(len, docs)) / len(docs)
    log(f"generated {len(docs):,} events in {gen_s:.1f} s, {avg:.0f} bytes of JSON each on average")
    log(f"  example: {docs[len(docs) // 2]}")

    conn.execute(
        f"""
        CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts',
            max_rows = {int(args.max_rows)}, index = '$.type', index = 'user: $.user.id');
        CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB);
        CREATE INDEX plain_ts ON plain(ts);
        CREATE INDEX plain_type ON plain(json_extract(doc, '$.type'));
        CREATE INDEX plain_user ON plain(json_extract(doc, '$.user.id'));
        """
    )
    shard_insert = "SELECT shard_insert('events', value) FROM json_each(?)"
    plain_insert = "INSERT INTO plain(ts, doc) VALUES (?, jsonb(?))"
    spent = {"collection": 0.0, "plain": 0.0}

    def load_collection(lo, hi):
        with conn:  # one transaction
            for b in range(lo, hi, INSERT_BATCH):
                for _ in conn.execute(shard_insert, ("[" + ",".join(docs[b:min(b + INSERT_BATCH, hi)]) + "]",)):
                    pass

    def load_plain(lo, hi):
        with conn:
            conn.executemany(plain_insert, zip(ts[lo:hi], docs[lo:hi]))

    # Interleaved per transaction, taking turns going first.
    for k, lo in enumerate(range(0, len(docs), LOAD_TX_ROWS)):
        hi = min(lo + LOAD_TX_ROWS, len(docs))
        steps = [("collection", load_collection), ("plain", load_plain)]
        for name, fn in steps if k % 2 == 0 else reversed(steps):
            t = time.perf_counter()
            fn(lo, hi)
            spent[name] += time.perf_counter() - t
    n = len(docs)
    with conn:
        conn.execute("CREATE TABLE bench_meta(key TEXT PRIMARY KEY, value)")
        conn.executemany(
            "INSERT INTO bench_meta VALUES (?, ?)",
            [("events", n), ("seed", args.seed), ("max_rows", args.max_rows), ("generator", GENERATOR),
             ("load_collection_s", spent["collection"]), ("load_plain_s", spent["plain"])],
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return spent


# ---------------------------------------------------------------- queries


class Query:
    def __init__(self, qid, sql, params=(), key=None):
        self.qid, self.sql, self.params = qid, sql, params
        self.key = key or (lambda rows: rows)
        self.samples = []
        self.inner = 1
        self.result = None

    def run(self, conn):
        return conn.execute(self.sql, self.params).fetchall()


def ts_column(rows):
    """ORDER BY ts ... LIMIT: ids differ between the two tables (the collection's
    carry the shard number), ts values are unique, so compare the ts sequence."""
    return [r[1] for r in rows]


def queries():
    """(collection query, plain query) pairs, then the table rows built from them."""
    P = "FROM plain"
    jt = "json_extract(doc, '$.type')"
    ju = "json_extract(doc, '$.user.id')"
    agg_c = "count(*), sum(length(doc))"
    agg_p = "count(*), sum(length(json(doc)))"  # the collection's doc is json(doc)
    ph = ", ".join("?" * len(IN_TYPES))
    q = [
        Query("c_type", f"SELECT {agg_c} FROM events WHERE type = ?", (RARE_TYPE,)),
        Query("p_type", f"SELECT {agg_p} {P} WHERE {jt} = ?", (RARE_TYPE,)),
        Query("c_type_month", f"SELECT {agg_c} FROM events WHERE type = ? AND ts BETWEEN ? AND ?",
              (RARE_TYPE, MONTH_START, MONTH_END)),
        Query("p_type_month", f"SELECT {agg_p} {P} WHERE {jt} = ? AND ts BETWEEN ? AND ?",
              (RARE_TYPE, MONTH_START, MONTH_END)),
        Query("c_type_alltime", f"SELECT {agg_c} FROM events WHERE type = ? AND ts BETWEEN ? AND ?",
              (RARE_TYPE, START, END - 1)),
        Query("p_type_alltime", f"SELECT {agg_p} {P} WHERE {jt} = ? AND ts BETWEEN ? AND ?",
              (RARE_TYPE, START, END - 1)),
        Query("c_user", "SELECT ts, type FROM events WHERE user = ? ORDER BY ts", (FEW_ROWS_USER,)),
        Query("p_user", f"SELECT ts, {jt} {P} WHERE {ju} = ? ORDER BY ts", (FEW_ROWS_USER,)),
        Query("c_type_unpushed", f"SELECT {agg_c} FROM events WHERE {jt} = ?", (RARE_TYPE,)),
        Query("c_month", f"SELECT {agg_c} FROM events WHERE ts BETWEEN ? AND ?", (MONTH_START, MONTH_END)),
        Query("p_month", f"SELECT {agg_p} {P} WHERE ts BETWEEN ? AND ?", (MONTH_START, MONTH_END)),
        Query("c_alltime", f"SELECT {agg_c} FROM events WHERE ts BETWEEN ? AND ?", (START, END - 1)),
        Query("p_alltime", f"SELECT {agg_p} {P} WHERE ts BETWEEN ? AND ?", (START, END - 1)),
        Query("c_group", f"SELECT type, count(*) FROM events WHERE type IN ({ph}) GROUP BY type ORDER BY type", IN_TYPES),
        Query("p_group", f"SELECT {jt} AS t, count(*) {P} WHERE {jt} IN ({ph}) GROUP BY t ORDER BY t", IN_TYPES),
        Query("c_usercount", "SELECT count(*) FROM events WHERE user = ?", (HEAVY_USER,)),
        Query("p_usercount", f"SELECT count(*) {P} WHERE {ju} = ?", (HEAVY_USER,)),
        Query("c_latest", "SELECT id, ts FROM events ORDER BY ts DESC LIMIT 100", key=ts_column),
        Query("p_latest", f"SELECT id, ts {P} ORDER BY ts DESC LIMIT 100", key=ts_column),
        Query("c_first_type", "SELECT id, ts FROM events WHERE type = ? ORDER BY ts LIMIT 100", (RARE_TYPE,), key=ts_column),
        Query("p_first_type", f"SELECT id, ts {P} WHERE {jt} = ? ORDER BY ts LIMIT 100", (RARE_TYPE,), key=ts_column),
        Query("c_scan", f"SELECT {agg_c} FROM events"),
        Query("p_scan", f"SELECT {agg_p} {P}"),
        Query("c_qdoc", "SELECT count(*) FROM events(?)", ('{"type":"%s","user.id":{"$lt":100}}' % RARE_TYPE,)),
        Query("p_qdoc", f"SELECT count(*) {P} WHERE {jt} = ? AND {ju} < 100", (RARE_TYPE,)),
    ]
    by = {x.qid: x for x in q}

    def ratio_at_most(limit):
        return (f"≤ {limit:g}x", lambda m, r: (r["ratio"] <= limit, None))

    def info(other, what):
        def check(m, r):
            return None, f"{what} {m[other] / r['coll']:.1f}x"
        return ("—", check)

    # (label, collection query, plain query, goal)
    rows = [
        ("1a. type = rare (pushed, ~1%), count+sum(length(doc))", "c_type", "p_type", ratio_at_most(2)),
        # A time range on top of an indexed equality reads fewer shards, never more
        # rows in a shard: within a shard the range covers, the equality's index answers.
        ("1c. type = rare AND one month (count+sum)", "c_type_month", "p_type_month",
         info("c_type", "1a/1c on coll:")),
        ("1d. type = rare AND all time (count+sum)", "c_type_alltime", "p_type_alltime",
         ("≤ 1.1x of 1a on coll", lambda m, r: (m["c_type_alltime"] <= 1.1 * m["c_type"],
                                                 f"1d/1a on coll: {m['c_type_alltime'] / m['c_type']:.2f}x"))),
        ("1b. user = one user, ORDER BY ts (pushed, ~10 rows)", "c_user", "p_user", ratio_at_most(2)),
        ("2. json_extract(doc,'$.type') = rare, unpushed", "c_type_unpushed", "p_type",
         ("pushed ≥ 20x faster", lambda m, r: (m["c_type_unpushed"] / m["c_type"] >= 20,
                                               f"pushed {m['c_type_unpushed'] / m['c_type']:.1f}x faster"))),
        ("3a. one month: ts BETWEEN (count+sum)", "c_month", "p_month", info("c_alltime", "all-time/month on coll:")),
        ("3b. all time: ts BETWEEN (count+sum)", "c_alltime", "p_alltime", ("—", lambda m, r: (None, None))),
        ("4a. type IN (3 rare) GROUP BY type (index only)", "c_group", "p_group", ("—", lambda m, r: (None, None))),
        ("4b. count(*) WHERE user = heavy user (index only)", "c_usercount", "p_usercount", ("—", lambda m, r: (None, None))),
        ("5a. id, ts ORDER BY ts DESC LIMIT 100", "c_latest", "p_latest", ("—", lambda m, r: (None, None))),
        ("5b. type = rare ORDER BY ts LIMIT 100", "c_first_type", "p_first_type", ("—", lambda m, r: (None, None))),
        ("6. full scan: count+sum(length(doc))", "c_scan", "p_scan",
         ("≥ 0.9x (ratio ≤ 1.11)", lambda m, r: (r["ratio"] <= 1 / 0.9, None))),
        ("7. query doc {type: rare, user.id: {$lt: 100}}", "c_qdoc", "p_qdoc", ("—", lambda m, r: (None, None))),
    ]
    return q, by, rows


def check_results(qs, by, rows, conn, log):
    """Runs every query once (a warm-up too) and asserts each pair agrees."""
    for x in qs:
        t = time.perf_counter()
        x.result = x.run(conn)
        first = time.perf_counter() - t
        # Repeat fast queries in a loop so one sample lasts ~20 ms.
        x.inner = max(1, min(2000, math.ceil(0.02 / max(first, 1e-6))))
    bad = []
    for label, c, p, _ in rows:
        a, b = by[c].key(by[c].result), by[p].key(by[p].result)
        if a != b:
            bad.append(f"{label}\n    collection {c}: {str(a)[:300]}\n    plain      {p}: {str(b)[:300]}")
    if bad:
        for line in bad:
            log("RESULT MISMATCH: " + line)
        raise SystemExit("results differ between the collection and plain SQLite; not timing anything")
    log("results: every collection query returns exactly what its plain counterpart returns")
    for label, c, p, _ in rows:
        r = by[c].result
        shown = r if len(r) <= 3 else f"{len(r)} rows"
        log(f"  {c:<16} {shown}")


def measure(qs, conn, reps, log):
    gc.disable()
    try:
        for rep in range(reps):
            order = qs if rep % 2 == 0 else list(reversed(qs))
            t_round = time.perf_counter()
            for x in order:
                t = time.perf_counter()
                for _ in range(x.inner):
                    x.run(conn)
                x.samples.append((time.perf_counter() - t) / x.inner * 1000)
            log(f"  round {rep + 1}/{reps}: {time.perf_counter() - t_round:.1f} s")
    finally:
        gc.enable()


def explain(conn, sql, params=()):
    lit = sql
    for p in params:  # shards_explain takes the query text: inline the literals
        lit = lit.replace("?", f"'{p}'" if isinstance(p, str) else str(p), 1)
    return scalar(conn, "SELECT shards_explain('events', ?)", (lit,))


# ---------------------------------------------------------------- report


def fmt_ms(samples):
    lo, med = min(samples), statistics.median(samples)
    digits = 3 if med < 1 else 2 if med < 10 else 1 if med < 100 else 0
    return f"{lo:.{digits}f} / {med:.{digits}f}"


def report(by, rows, markdown):
    med = {qid: statistics.median(x.samples) for qid, x in by.items()}
    header = ["query", "collection ms (min / median)", "plain ms (min / median)", "ratio coll/plain (median)", "goal", "met"]
    table = []
    for label, c, p, (goal, check) in rows:
        r = {"coll": med[c], "plain": med[p], "ratio": med[c] / med[p]}
        ok, note = check(med, r)
        goal_text = goal if not note else (f"{goal}: {note}" if goal != "—" else note)
        table.append([label, fmt_ms(by[c].samples), fmt_ms(by[p].samples), f"{r['ratio']:.2f}x",
                      goal_text, "" if ok is None else ("yes" if ok else "**NO**" if markdown else "NO")])
    print_table(header, table, markdown)
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="documents to load (default 1,000,000)")
    ap.add_argument("--reps", type=int, default=9, help="timed rounds; each query's median is reported (default 9)")
    ap.add_argument("--db", help="database file to build and keep, or reuse when built with the same settings")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--max-rows", type=int, default=10_000, help="the collection's max_rows (default 10000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    ap.add_argument("--cache-mb", type=int, default=256, help="SQLite page cache of the connection (default 256)")
    ap.add_argument("--explain", action="store_true", help="also print how every query ran (shards_explain, EXPLAIN QUERY PLAN)")
    args = ap.parse_args()
    t_start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    tmpdir = None
    if args.db:
        path = os.path.abspath(args.db)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="bench-routing-")
        path = os.path.join(tmpdir.name, "bench.db")

    conn = connect(path, args.cache_mb)
    meta = meta_of(conn)
    want = {"events": args.events, "seed": args.seed, "max_rows": args.max_rows, "generator": GENERATOR}
    if meta is None:
        if scalar(conn, "SELECT count(*) FROM sqlite_schema"):
            raise SystemExit(f"{path} is not a database this benchmark built; give another --db path")
        spent = build(conn, args, log)
        reused = False
    elif all(meta.get(k) == v for k, v in want.items()):
        spent = {"collection": meta["load_collection_s"], "plain": meta["load_plain_s"]}
        reused = True
    else:
        raise SystemExit(f"{path} was built with {dict((k, meta.get(k)) for k in want)}, not {want}; "
                         "delete it or give another --db path")

    log("")
    log(f"SQLite {scalar(conn, 'SELECT sqlite_version()')} (apsw {apsw.apsw_version()}); "
        + " | ".join(scalar(conn, "SELECT shards_debug()").splitlines()))
    shards, shard_rows = conn.execute("SELECT count(*), sum(rows) FROM shard_list('events')").fetchone()
    plain_rows = scalar(conn, "SELECT count(*) FROM plain")
    log(f"shard_list('events'): {shards} shards, {shard_rows:,} rows; plain: {plain_rows:,} rows")
    assert shard_rows == plain_rows == args.events, (shard_rows, plain_rows, args.events)
    for name in ("collection", "plain"):
        log(f"load {name:<10}: {spent[name]:6.1f} s, {args.events / spent[name]:9,.0f} rows/s"
            + (" (when this --db was built)" if reused else ""))
    log(f"load ratio collection/plain: {spent['collection'] / spent['plain']:.2f}x; "
        f"database {os.path.getsize(path) / 2**20:,.0f} MiB")

    month = explain(conn, f"SELECT count(*), sum(length(doc)) FROM events WHERE ts BETWEEN ? AND ?",
                    (MONTH_START, MONTH_END)).splitlines()
    log("")
    log(f"shards_explain of the one-month query (ts BETWEEN {MONTH_START} AND {MONTH_END}), first lines:")
    for line in month if len(month) <= 5 else month[:3] + [f"  ... ({len(month) - 4} more shards)"] + month[-1:]:
        log("  " + line)

    qs, by, rows = queries()
    if args.explain:
        log("")
        for x in qs:
            if x.qid.startswith("c_"):
                lines = explain(conn, x.sql, x.params).splitlines()
                log(f"{x.qid}: " + " / ".join(l.strip() for l in lines[:2] + lines[-1:]))
            else:
                plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + x.sql, x.params)]
                log(f"{x.qid}: " + " / ".join(plan))
    log("")
    check_results(qs, by, rows, conn, log)
    log("")
    log(f"timing: {args.reps} rounds of {len(qs)} queries, interleaved")
    measure(qs, conn, args.reps, log)
    log("")
    table = report(by, rows, args.markdown)
    conn.close()
    if tmpdir:
        tmpdir.cleanup()

    print("")
    print("Row 2's plain figure is row 1a's plain query (the same equality, indexed). Without ANALYZE,")
    print("plain SQLite answers 3b through its ts index, as it does 3a.")
    missed = [r[0] for r in table if r[5] not in ("", "yes")]
    total = time.perf_counter() - t_start
    print("")
    print(f"goals missed: {len(missed)}" + ("" if not missed else " (" + "; ".join(missed) + ")"))
    print(f"total run time: {total:.0f} s")
    cmd = "scripts/bench-routing" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:]))
    print(f"rerun: `{cmd}`" if args.markdown else f"rerun: {cmd}")


if __name__ == "__main__":
    main()
