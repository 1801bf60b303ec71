"""Lifecycle benchmark: shard_drop, shard_compress and shard_archive on a `shards`
collection, every figure a ratio measured in the same run.

Run it through the wrapper, which builds the release library and the venv first:

    scripts/bench-lifecycle                        # 300,000 events over 3 months (~1 min)
    scripts/bench-lifecycle --events 60000 --drop-reps 3 --reps 3 --markdown   # quick look

What it does:

0. Generates --events realistic events (about 180 bytes of JSON each, the shape
   bench/routing.py makes: ts in epoch ms spread over the first --months months of
   2024 and arriving mostly in time order, 20 skewed types, 50k users with a few
   heavy ones, app, url, session, country, dur; deterministic from --seed), and loads
   them, one transaction per 50k rows, WAL, synchronous=NORMAL, into two fresh files:
       coll.db:  CREATE VIRTUAL TABLE events USING shards(partition = month,
                     time = '$.ts', max_rows = 100000, index = '$.type',
                     index = 'user: $.user.id')     -- via shard_insert + json_each
       plain.db: plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB)  -- doc = jsonb
                 with indexes on ts, json_extract(doc,'$.type'),
                 json_extract(doc,'$.user.id')      -- via executemany
   Both files are checkpointed and closed; every measurement below works on copies.
1. Drop one month (January, >= 100,000 events at the default size): --drop-reps
   times, each on fresh copies of both files, taking turns going first, on a fresh
   connection each (warmed with one read of the schema/catalog, untimed), times only
       SELECT shard_drop('events', <Feb 1>)    vs    DELETE FROM plain WHERE ts < <Feb 1>
   each in autocommit, so the time includes the commit (and any WAL auto-checkpoint
   that commit triggers: SQLite's default, 1000 pages, on both sides). Medians.
   Checks that both removed the same number of rows.
2. Compression: on a copy of coll.db, `SELECT shard_compress('events', <end of month
   --compress-months>)` (default: January and February). Bytes per event of those
   shards, sum(bytes)/sum(rows) from shard_list (dbstat: table + indexes before,
   block table after), and the whole file (page_count * page_size after VACUUM of a
   copy) before and after.
3. Reads on compressed shards: the compressed copy against an uncompressed copy of
   the same database, on a connection each, six queries bounded to the compressed
   range (full scan, indexed type equality, one ordinary user's rows, ORDER BY ts
   DESC LIMIT 100, ORDER BY ts LIMIT 5, a rare type's last 5 by ts). Results must be
   identical (the run stops otherwise).
4. Archive: on another uncompressed copy, `shard_archive('events', <Feb 1>,
   'archive.db')`, then a full scan and an indexed equality over January, against
   the uncompressed copy. Results must be identical.
   Queries of 3 and 4 are timed together: --reps rounds, each running every query
   once (fast ones repeated in a loop so a sample lasts at least ~20 ms), the order
   reversed every other round; medians.

Ratios are the result: the machine is shared and noisy, absolute times mean little.
"""
import argparse
import calendar
import gc
import math
import os
import shutil
import statistics
import tempfile
import time

import apsw

from events import HEAVY_USERS, YEAR, connect, generate, print_footer, print_table, scalar


RARE_TYPE = "purchase"  # ~1% of events

LOAD_TX_ROWS = 50_000
OWN_FILES = ("coll.db", "plain.db", "uncompressed.db", "compressed.db", "archived.db", "archive.db",
             "drop-coll.db", "drop-plain.db", "vacuum.db")  # in the working folder, replaced each run
INSERT_BATCH = 5_000


def month_start(m):
    """Unix ms of the first day of month m of YEAR (m may run past 12)."""
    y, m0 = YEAR + (m - 1) // 12, (m - 1) % 12 + 1
    return calendar.timegm((y, m0, 1, 0, 0, 0)) * 1000


# ---------------------------------------------------------------- data


# ---------------------------------------------------------------- database


def copy_db(src, dst):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
    assert not os.path.exists(src + "-wal"), f"{src} still has a WAL; close it first"
    shutil.copyfile(src, dst)


def build(coll_path, plain_path, docs, ts, args, log):
    coll, plain = connect(coll_path, args.cache_mb), connect(plain_path, args.cache_mb)
    coll.execute(
        f"""CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts',
                max_rows = {int(args.max_rows)}, index = '$.type', index = 'user: $.user.id')"""
    )
    plain.execute(
        """
        CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB);
        CREATE INDEX plain_ts ON plain(ts);
        CREATE INDEX plain_type ON plain(json_extract(doc, '$.type'));
        CREATE INDEX plain_user ON plain(json_extract(doc, '$.user.id'));
        """
    )
    spent = {"collection": 0.0, "plain": 0.0}
    for lo in range(0, len(docs), LOAD_TX_ROWS):
        hi = min(lo + LOAD_TX_ROWS, len(docs))
        t = time.perf_counter()
        with coll:
            for b in range(lo, hi, INSERT_BATCH):
                arr = "[" + ",".join(docs[b:min(b + INSERT_BATCH, hi)]) + "]"
                for _ in coll.execute("SELECT shard_insert('events', value) FROM json_each(?)", (arr,)):
                    pass
        spent["collection"] += time.perf_counter() - t
        t = time.perf_counter()
        with plain:
            plain.executemany("INSERT INTO plain(ts, doc) VALUES (?, jsonb(?))", zip(ts[lo:hi], docs[lo:hi]))
        spent["plain"] += time.perf_counter() - t
    for c in (coll, plain):
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
    return spent


def file_bytes_after_vacuum(path, tmp):
    """page_count * page_size of a VACUUMed copy of `path`."""
    copy_db(path, tmp)
    conn = connect(tmp, 64)
    conn.execute("VACUUM")
    size = scalar(conn, "PRAGMA page_count") * scalar(conn, "PRAGMA page_size")
    conn.close()
    os.remove(tmp)
    return size


def shard_bytes(conn, end):
    """(sum(bytes), sum(rows), states) of the shards whose period ends by `end`."""
    b, r = conn.execute("SELECT sum(bytes), sum(rows) FROM shard_list('events') WHERE period_end <= ?", (end,)).fetchone()
    states = sorted({s for (s,) in conn.execute("SELECT state FROM shard_list('events') WHERE period_end <= ?", (end,))})
    return b, r, states


# ---------------------------------------------------------------- 1. drop


def measure_drop(coll_db, plain_db, work, cut, args, log):
    times = {"collection": [], "plain": []}
    removed = {}
    for rep in range(args.drop_reps):
        c_path, p_path = os.path.join(work, "drop-coll.db"), os.path.join(work, "drop-plain.db")
        copy_db(coll_db, c_path)
        copy_db(plain_db, p_path)

        def run_coll():
            conn = connect(c_path, args.cache_mb)
            conn.execute("SELECT count(*) FROM shard_list('events')").fetchall()  # open the collection
            t = time.perf_counter()
            n = scalar(conn, "SELECT shard_drop('events', ?)", (cut,))
            dt = time.perf_counter() - t
            left = scalar(conn, "SELECT count(*) FROM events")
            conn.close()
            return dt, n, left

        def run_plain():
            conn = connect(p_path, args.cache_mb)
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
            t = time.perf_counter()
            conn.execute("DELETE FROM plain WHERE ts < ?", (cut,))
            dt = time.perf_counter() - t
            n = conn.changes()
            left = scalar(conn, "SELECT count(*) FROM plain")
            conn.close()
            return dt, n, left

        steps = [("collection", run_coll), ("plain", run_plain)]
        line = []
        for name, fn in steps if rep % 2 == 0 else reversed(steps):
            dt, n, left = fn()
            times[name].append(dt * 1000)
            if name in removed and removed[name] != (n, left):
                raise SystemExit(f"drop: {name} removed {n} rows / left {left} this time, {removed[name]} before")
            removed[name] = (n, left)
            line.append(f"{name} {dt * 1000:.1f} ms")
        log(f"  drop rep {rep + 1}/{args.drop_reps}: " + ", ".join(line))
        for p in (c_path, p_path):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(p + suffix):
                    os.remove(p + suffix)
    if removed["collection"] != removed["plain"]:
        raise SystemExit(f"drop: collection removed/left {removed['collection']}, plain {removed['plain']}")
    return times, removed["collection"]


# ---------------------------------------------------------------- 3./4. queries


class Query:
    def __init__(self, qid, conn, sql, params=()):
        self.qid, self.conn, self.sql, self.params = qid, conn, sql, params
        self.samples, self.inner, self.result = [], 1, None

    def run(self):
        return self.conn.execute(self.sql, self.params).fetchall()


def measure(qs, reps, log):
    for x in qs:  # warm-up, result, loop size
        t = time.perf_counter()
        x.result = x.run()
        first = time.perf_counter() - t
        x.inner = max(1, min(2000, math.ceil(0.02 / max(first, 1e-6))))
    gc.disable()
    try:
        for rep in range(reps):
            order = qs if rep % 2 == 0 else list(reversed(qs))
            t_round = time.perf_counter()
            for x in order:
                t = time.perf_counter()
                for _ in range(x.inner):
                    x.run()
                x.samples.append((time.perf_counter() - t) / x.inner * 1000)
            log(f"  round {rep + 1}/{reps}: {time.perf_counter() - t_round:.1f} s")
    finally:
        gc.enable()


# ---------------------------------------------------------------- report


def fmt_ms(ms):
    digits = 3 if ms < 1 else 2 if ms < 10 else 1 if ms < 100 else 0
    return f"{ms:.{digits}f} ms"


def fmt_ratio(r):
    return f"{r:.2f}x time" if r < 10 else f"{r:,.0f}x time"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300_000, help="documents to load (default 300,000)")
    ap.add_argument("--months", type=int, default=3, help="months of 2024 the events span (default 3)")
    ap.add_argument("--compress-months", type=int, default=2, help="leading months to compress (default 2)")
    ap.add_argument("--max-rows", type=int, default=100_000, help="the collection's max_rows (default 100000)")
    ap.add_argument("--drop-reps", type=int, default=7, help="drop repetitions on fresh copies (default 7)")
    ap.add_argument("--reps", type=int, default=9, help="timed rounds of the read queries (default 9)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    ap.add_argument("--cache-mb", type=int, default=256, help="SQLite page cache per connection (default 256)")
    ap.add_argument("--dir", help="working folder, kept after the run (its coll.db, plain.db, ... are replaced); "
                    "default a temporary one, removed at the end")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--explain", action="store_true", help="also print shards_explain of every read query")
    args = ap.parse_args()
    if not 1 <= args.compress_months < args.months:
        raise SystemExit("--compress-months must be at least 1 and less than --months")
    t_start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    tmpdir = None
    if args.dir:
        work = os.path.abspath(args.dir)
        os.makedirs(work, exist_ok=True)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="bench-lifecycle-")
        work = tmpdir.name
    P = lambda name: os.path.join(work, name)
    for name in OWN_FILES:  # only the files this benchmark makes
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(P(name + suffix)):
                os.remove(P(name + suffix))

    start, end = month_start(1), month_start(args.months + 1)
    feb1 = month_start(2)                              # the dropped / archived month is January
    zend = month_start(args.compress_months + 1)       # end of the compressed range

    # ---- 0. data
    t = time.perf_counter()
    docs, ts, users = generate(args.events, args.seed, start, end)
    avg = sum(map(len, docs)) / len(docs)
    log(f"generated {len(docs):,} events over {args.months} months in {time.perf_counter() - t:.1f} s, "
        f"{avg:.0f} bytes of JSON each on average")
    log(f"  example: {docs[len(docs) // 2]}")
    jan_rows = sum(1 for x in ts if x < feb1)
    if jan_rows < 100_000:
        log(f"  note: January holds {jan_rows:,} events, fewer than the 100,000 the drop goal asks for")
    # An ordinary user with a few events in the compressed range (deterministic).
    counts = {}
    for x, u in zip(ts, users):
        if x < zend and u > HEAVY_USERS:
            counts[u] = counts.get(u, 0) + 1
    user = min((u for u, k in counts.items() if k >= 3), default=min(counts))
    coll_db, plain_db = P("coll.db"), P("plain.db")
    spent = build(coll_db, plain_db, docs, ts, args, log)
    n = len(docs)
    del docs, ts, users
    log(f"loaded: collection {spent['collection']:.1f} s ({n / spent['collection']:,.0f} rows/s), "
        f"plain {spent['plain']:.1f} s ({n / spent['plain']:,.0f} rows/s); files "
        f"{os.path.getsize(coll_db) / 2**20:.0f} MiB / {os.path.getsize(plain_db) / 2**20:.0f} MiB")
    conn = connect(coll_db, args.cache_mb)
    log(f"SQLite {scalar(conn, 'SELECT sqlite_version()')} (apsw {apsw.apsw_version()}); "
        + " | ".join(scalar(conn, "SELECT shards_debug()").splitlines()))
    log("shards: " + ", ".join(f"{k} {r:,}" for k, r in conn.execute(
        "SELECT shard, rows FROM shard_list('events') ORDER BY shard")))
    conn.close()

    table = []

    def row(label, coll, base, ratio, goal="—", met=None):
        table.append([label, coll, base, ratio, goal,
                      "" if met is None else ("yes" if met else "**NO**" if args.markdown else "NO")])

    # ---- 1. drop
    log("")
    log(f"1. drop January ({jan_rows:,} events): shard_drop vs DELETE, {args.drop_reps} fresh copies each")
    times, (dropped, left) = measure_drop(coll_db, plain_db, work, feb1, args, log)
    mc, mp = statistics.median(times["collection"]), statistics.median(times["plain"])
    log(f"  both removed {dropped:,} rows, {left:,} left; medians {mc:.2f} ms vs {mp:.1f} ms")
    row(f"1. drop one month ({dropped:,} events): shard_drop vs DELETE WHERE ts <, median of {args.drop_reps}",
        fmt_ms(mc), fmt_ms(mp), f"{mp / mc:,.0f}x faster", "≥ 100x faster", mp / mc >= 100)

    # ---- 2. compression
    log("")
    u_db, z_db, a_db = P("uncompressed.db"), P("compressed.db"), P("archived.db")
    for p in (u_db, z_db, a_db):
        copy_db(coll_db, p)
    zconn = connect(z_db, args.cache_mb)
    before_b, before_r, before_states = shard_bytes(zconn, zend)
    t = time.perf_counter()
    compressed = scalar(zconn, "SELECT shard_compress('events', ?)", (zend,))
    compress_s = time.perf_counter() - t
    after_b, after_r, after_states = shard_bytes(zconn, zend)
    zconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    zconn.close()
    assert compressed == before_r == after_r, (compressed, before_r, after_r)
    assert after_states == ["compressed"], after_states
    bpe_before, bpe_after = before_b / before_r, after_b / after_r
    log(f"2. shard_compress('events', {zend}) compressed {compressed:,} rows in {compress_s:.1f} s "
        f"({compressed / compress_s:,.0f} rows/s); states before {before_states}")
    log(f"  bytes/event: {bpe_before:.1f} before (table + indexes), {bpe_after:.1f} after (block table)")
    f_before = file_bytes_after_vacuum(u_db, P("vacuum.db"))
    f_after = file_bytes_after_vacuum(z_db, P("vacuum.db"))
    log(f"  whole file after VACUUM: {f_before / 2**20:.1f} MiB before, {f_after / 2**20:.1f} MiB after")
    row(f"2a. bytes/event of the {args.compress_months} compressed months ({compressed:,} events), shard_list",
        f"{bpe_after:.1f} B", f"{bpe_before:.1f} B", f"{bpe_before / bpe_after:.1f}x smaller",
        "≥ 4.5x smaller", bpe_before / bpe_after >= 4.5)
    row("2b. bytes/event after compression, absolute", f"{bpe_after:.1f} B", f"{bpe_before:.1f} B", "—",
        "≤ ~40 B/event", bpe_after <= 40)
    row(f"2c. whole file after VACUUM ({args.compress_months} of {args.months} months compressed)",
        f"{f_after / 2**20:.1f} MiB", f"{f_before / 2**20:.1f} MiB", f"{f_before / f_after:.1f}x smaller")

    # ---- 4. archive (prepare), then 3 + 4 timed together
    aconn = connect(a_db, args.cache_mb)
    t = time.perf_counter()
    archived = scalar(aconn, "SELECT shard_archive('events', ?, 'archive.db')", (feb1,))
    archive_s = time.perf_counter() - t
    states = aconn.execute("SELECT DISTINCT state, file FROM shard_list('events') WHERE period_end <= ?", (feb1,)).fetchall()
    assert states == [("archived", "archive.db")], states
    log(f"4. shard_archive('events', {feb1}, 'archive.db') moved {archived:,} rows in {archive_s:.1f} s; "
        f"archive file {os.path.getsize(P('archive.db')) / 2**20:.1f} MiB")
    uconn, zconn = connect(u_db, args.cache_mb), connect(z_db, args.cache_mb)

    scan = "SELECT count(*), sum(length(doc)) FROM events WHERE ts < ?"
    eq = "SELECT count(*) FROM events WHERE type = ? AND ts < ?"
    usr = "SELECT id, ts, type FROM events WHERE user = ? AND ts < ? ORDER BY ts"
    latest = "SELECT id, ts FROM events WHERE ts < ? ORDER BY ts DESC LIMIT 100"
    first = "SELECT id, ts, type FROM events WHERE ts < ? ORDER BY ts LIMIT 5"
    last_of = "SELECT id, ts FROM events WHERE type = ? AND ts < ? ORDER BY ts DESC LIMIT 5"
    pairs = [  # (label, query on the changed copy, the same on the uncompressed copy, goal ratio)
        ("3a. full scan, count+sum(length(doc)), compressed range", scan, (zend,), 2),
        (f"3b. indexed equality type = '{RARE_TYPE}', count, compressed range", eq, (RARE_TYPE, zend), 2),
        (f"3c. indexed user = {user} (ordinary user), rows ORDER BY ts, compressed range", usr, (user, zend), 2),
        ("3d. ORDER BY ts DESC LIMIT 100 within the compressed range", latest, (zend,), 2),
        ("3e. ORDER BY ts LIMIT 5 within the compressed range", first, (zend,), 2),
        (f"3f. type = '{RARE_TYPE}' ORDER BY ts DESC LIMIT 5 within the compressed range", last_of, (RARE_TYPE, zend), 2),
        ("4a. full scan, count+sum(length(doc)), archived January", scan, (feb1,), None),
        (f"4b. indexed equality type = '{RARE_TYPE}', count, archived January", eq, (RARE_TYPE, feb1), None),
    ]
    qs, rows = [], []
    for i, (label, sql, params, goal) in enumerate(pairs):
        changed = Query(f"{i}c", zconn if label.startswith("3") else aconn, sql, params)
        base = Query(f"{i}u", uconn, sql, params)
        qs += [changed, base]
        rows.append((label, changed, base, goal))
    if args.explain:
        for label, c, b, _ in rows:
            for side in (c, b):
                lit = side.sql
                for p in side.params:
                    lit = lit.replace("?", f"'{p}'" if isinstance(p, str) else str(p), 1)
                lines = scalar(side.conn, "SELECT shards_explain('events', ?)", (lit,)).splitlines()
                log(f"{label[:3]} {'changed ' if side is c else 'baseline'}: " + " / ".join(l.strip() for l in lines[:2] + lines[-1:]))
    log("")
    log(f"3./4. reads: {args.reps} rounds of {len(qs)} queries, interleaved")
    measure(qs, args.reps, log)
    bad = [f"{label}\n    changed: {str(c.result)[:300]}\n    baseline: {str(b.result)[:300]}"
           for label, c, b, _ in rows if c.result != b.result]
    if bad:
        for line in bad:
            log("RESULT MISMATCH: " + line)
        raise SystemExit("results differ between the compressed/archived copy and the uncompressed one")
    log("results: every query returns the same rows on both copies")
    for label, c, b, _ in rows:
        r = c.result
        log(f"  {label[:4]} {r if len(r) <= 2 else f'{len(r)} rows'}")
    for label, c, b, goal in rows:
        mc, mb = statistics.median(c.samples), statistics.median(b.samples)
        ratio = mc / mb
        if goal is None:
            row(label, fmt_ms(mc) + " (archived)", fmt_ms(mb) + " (in main)", fmt_ratio(ratio))
        else:
            row(label, fmt_ms(mc) + " (compressed)", fmt_ms(mb) + " (uncompressed)", fmt_ratio(ratio),
                f"≤ {goal:g}x time (speed ≥ {1 / goal:g}x)", ratio <= goal)
    for c in (aconn, uconn, zconn):
        c.close()

    # ---- report
    log("")
    print_table(["measurement", "collection", "plain / baseline", "ratio", "goal", "met"], table, args.markdown)
    print("")
    print("Ratios: 1 is DELETE time / shard_drop time; 2 is bytes before / after; 3 and 4 are the time on the")
    print("compressed (archived) copy / the time on the uncompressed copy of the same database, same run.")
    print("")
    print_footer([r[0] for r in table if r[5] not in ("", "yes")], t_start, "scripts/bench-lifecycle", args.markdown)
    if tmpdir:
        tmpdir.cleanup()


if __name__ == "__main__":
    main()
