"""Rollup benchmark (SPEC 11): dashboard queries answered three ways in one run.

Run it through the wrapper, which builds the release library and the venv first:

    scripts/bench-rollups --markdown                 # 3,000,000 events over 2024
    scripts/bench-rollups --events 300000 --markdown # a quicker look

What it does:

0. Generates --events events of about 180 bytes (ts in epoch ms over 2024, mostly
   in time order; 10 skewed types; 100,000 users; a duration in ms; app, country,
   url; deterministic from --seed) and loads them, 50,000 a transaction, into
       coll.db: CREATE VIRTUAL TABLE events USING shards(time = '$.ts', partition = day)
   with three rollups over it (created before the load: they write nothing; after
   it, `shard_rollup_refresh` builds their partials, timed):
       by_day_type:  bucket = '1 day',  group = '$.type', n: count, dur: sum($.dur)
       by_hour_type: bucket = '1 hour', group = '$.type', n: count
       by_day:       bucket = '1 day', users: distinct($.user), p95: quantile($.dur, 0.95)
   and the same events, as typed columns (ts TIMESTAMP, type, user, dur), into DuckDB
   (from PyPI, in the benchmark's venv only).
1. Times, --reps rounds, medians (a query repeated until a sample lasts ~20 ms):
   (a) count and sum of dur by day and type over the year;
   (b) count by hour and type over one week;
   (c) distinct users per day over a month, and over the month merged;
   (d) p95 of dur per day over a month;
   each through the rollup, as GROUP BY through the collection (count(DISTINCT) for
   c, the quantile sketch's own aggregates for d: SQLite has no percentile), and as
   GROUP BY in DuckDB (count(DISTINCT), quantile_cont). Exact answers of the
   rollup and of the collection (a, b) must be identical (the run stops otherwise).
2. (a) again after 50,000 more rows in the last day, which are not built (that
   shard is aggregated at query time); the partials' bytes against the collection's.
3. count(*) of the whole collection against a plain table of the same rows
   (id INTEGER PRIMARY KEY, ts, doc; an index on ts), and against SQLite's own
   generate_series virtual table stepping as many rows (when the host has it): the
   floor of any virtual table, which SQLite steps row by row.
4. (first, before the rest) Ingest: the first --ingest events (200,000) inserted in
   one INSERT ... SELECT into a collection, into one with a daily rollup of five
   measures (count, sum, min, max, avg), and into a plain table; CPU time, medians.
   `--only-ingest` runs this alone (the same rows: the first of --events events).

The machine is shared and noisy: the ratios of one run are the result.

To iterate on one query, or to compare two builds on the same files:

    .venv-rollups/bin/python bench/rollups.py --events 300000 --folder /tmp/b --reuse --only c,d
    .venv-rollups/bin/python bench/rollups.py ... --lib /other/checkout/.build/release/libShardExt

`--only` times only the queries named by their letters (and skips 2 to 4, which
write to the collection); `--reuse` opens the coll.db and duck.db that an earlier run
made in --folder from the same --events and --seed (it makes them when there are none).
"""
import argparse
import calendar
import csv
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from events import LIB  # noqa: E402

import apsw  # noqa: E402

YEAR = 2024
TYPES = [("view", 40), ("click", 20), ("scroll", 12), ("search", 8), ("add_to_cart", 6),
         ("login", 5), ("logout", 4), ("share", 3), ("purchase", 1.5), ("error", 0.5)]
APPS = ["web", "ios", "android", "api"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "NL", "SE"]
USERS = 100_000
DAY = 86_400_000
lib = LIB   # --lib


def ms(y, m, d=1):
    return calendar.timegm((y, m, d, 0, 0, 0)) * 1000


def generate(n, seed, first=None):
    """Events over YEAR in time order, with a little jitter (late ones); only the
    `first` of them when given (the same ones)."""
    rng = random.Random(seed)
    names = [t for t, _ in TYPES]
    weights = [w for _, w in TYPES]
    start, end = ms(YEAR, 1), ms(YEAR + 1, 1)
    step = (end - start) / n
    out = []
    for i in range(n if first is None else min(first, n)):
        ts = int(start + i * step + rng.random() * step)
        if rng.random() < 0.01:
            ts = max(start, ts - rng.randint(0, 3 * DAY))
        t = rng.choices(names, weights)[0]
        user = rng.randint(1, USERS)
        dur = round(rng.lognormvariate(5, 1.2), 1)
        out.append((ts, t, user, dur, rng.choice(APPS), rng.choice(COUNTRIES), f"/p/{rng.randint(1, 5000)}"))
    return out


def doc(e):
    ts, t, user, dur, app, country, url = e
    return (f'{{"ts":{ts},"type":"{t}","user":{user},"dur":{dur},"app":"{app}",'
            f'"country":"{country}","url":"{url}","session":"s{user * 7919 % 1000003:x}","v":1}}')


def connect(path):
    conn = apsw.Connection(path)
    conn.enable_load_extension(True)
    conn.load_extension(lib)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -262144")
    return conn


def load(folder, events):
    path = os.path.join(folder, "coll.db")
    conn = connect(path)
    conn.execute("CREATE VIRTUAL TABLE events USING shards(time = '$.ts', partition = day)")
    conn.execute("CREATE VIRTUAL TABLE by_day_type USING shards_rollup(source = events, bucket = '1 day', "
                 "group = '$.type', measure = 'n: count', measure = 'dur: sum($.dur)')")
    conn.execute("CREATE VIRTUAL TABLE by_hour_type USING shards_rollup(source = events, bucket = '1 hour', "
                 "group = '$.type', measure = 'n: count')")
    conn.execute("CREATE VIRTUAL TABLE by_day USING shards_rollup(source = events, bucket = '1 day', "
                 "measure = 'users: distinct($.user)', measure = 'p95: quantile($.dur, 0.95)')")
    conn.execute("CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc TEXT NOT NULL)")
    t0 = time.perf_counter()
    for i in range(0, len(events), 50_000):
        batch = events[i:i + 50_000]
        with conn:
            for e in batch:
                conn.execute("INSERT INTO events(doc) VALUES (?)", (doc(e),))
    load_s = time.perf_counter() - t0
    with conn:
        conn.execute("INSERT INTO plain(ts, doc) SELECT ts, doc FROM events")
        conn.execute("CREATE INDEX plain_ts ON plain(ts)")
    t0 = time.perf_counter()
    built = sum(conn.execute("SELECT shard_rollup_refresh(?)", (r,)).fetchall()[0][0]
                for r in ("by_day_type", "by_hour_type", "by_day"))
    refresh_s = time.perf_counter() - t0
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return conn, load_s, built, refresh_s


FIVE = ("measure = 'n: count', measure = 'dur: sum($.dur)', measure = 'lo: min($.dur)', "
        "measure = 'hi: max($.dur)', measure = 'avg_dur: avg($.dur)'")


def ingest(folder, events, reps):
    """CPU seconds (this process: the extension runs in it) to insert the same rows, in
    one INSERT ... SELECT from a staging table, into a collection without a rollup, into
    one with a daily rollup of five measures, and into a plain table with an index on
    ts; medians of `reps` rounds, each into a fresh file. The rollup's partials of
    finished days are built by upkeep as the rows go in."""
    staging = os.path.join(folder, "staging.db")
    if os.path.exists(staging):
        os.remove(staging)
    s = apsw.Connection(staging)
    s.execute("CREATE TABLE staging(doc TEXT)")
    with s:
        s.executemany("INSERT INTO staging VALUES (?)", ((doc(e),) for e in events))
    s.close()
    setups = {
        "collection": [],
        "with rollup": ["CREATE VIRTUAL TABLE daily USING shards_rollup(source = events, bucket = '1 day', "
                        f"group = '$.type', {FIVE})"],
    }
    times = {"collection": [], "with rollup": [], "plain": []}
    for _ in range(reps):
        for name in times:
            path = os.path.join(folder, "ingest.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            conn = connect(path)
            conn.execute(f"ATTACH '{staging}' AS st")
            if name == "plain":
                conn.execute("CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc TEXT NOT NULL)")
                conn.execute("CREATE INDEX events_ts ON events(ts)")
                sql = "INSERT INTO events(ts, doc) SELECT json_extract(doc, '$.ts'), doc FROM st.staging"
            else:
                conn.execute("CREATE VIRTUAL TABLE events USING shards(time = '$.ts', partition = day)")
                for stmt in setups[name]:
                    conn.execute(stmt)
                sql = "INSERT INTO events(doc) SELECT doc FROM st.staging"
            t0 = time.process_time()
            with conn:
                conn.execute(sql)
            times[name].append(time.process_time() - t0)
            if name == "with rollup":
                # Every answer still that of GROUP BY over the documents.
                got = conn.execute("SELECT bucket_ms, type, n FROM daily ORDER BY 1, 2").fetchall()
                want = conn.execute("SELECT ts - ts % 86400000, json_extract(doc, '$.type'), count(*) FROM events "
                                    "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
                if got != want:
                    sys.exit("ingest: the rollup and the collection disagree")
            conn.close()
    os.remove(staging)
    return {k: statistics.median(v) for k, v in times.items()}


def load_duckdb(folder, events):
    import duckdb
    csv_path = os.path.join(folder, "events.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        for ts, t, user, dur, *_ in events:
            w.writerow((ts, t, user, dur))
    db = duckdb.connect(os.path.join(folder, "duck.db"))
    db.execute("DROP TABLE IF EXISTS ev")
    db.execute(f"""CREATE TABLE ev AS SELECT make_timestamp(column0 * 1000) AS ts, column1::VARCHAR AS type,
                   column2::INTEGER AS "user", column3::DOUBLE AS dur FROM read_csv('{csv_path}', header = false)""")
    os.remove(csv_path)
    return db


def timed(run, reps):
    """Median seconds of run(), each sample repeated until it lasts ~20 ms."""
    samples = []
    for _ in range(reps):
        k, t0 = 0, time.perf_counter()
        while True:
            run()
            k += 1
            el = time.perf_counter() - t0
            if el >= 0.02:
                break
        samples.append(el / k)
    return statistics.median(samples)


def ingest_line(ing, rows, reps, markdown):
    """The ingest comparison's result, a sentence (markdown) or a line."""
    f = fmt
    if not markdown:
        return (f"ingest: collection {f(ing['collection'])}, with rollup {f(ing['with rollup'])} "
                f"({ing['with rollup'] / ing['collection']:.2f}x), plain {f(ing['plain'])}")
    return (f"Ingest of {rows:,} rows in one `INSERT ... SELECT` (CPU, medians of {reps}): "
            f"collection {f(ing['collection'])}, with a daily rollup of five measures {f(ing['with rollup'])} "
            f"({ing['with rollup'] / ing['collection']:.2f}x), plain table with an index on ts {f(ing['plain'])} "
            f"(collection {ing['collection'] / ing['plain']:.2f}x, with the rollup {ing['with rollup'] / ing['plain']:.2f}x).")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--folder", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--ingest", type=int, default=200_000, help="rows of the ingest comparison")
    ap.add_argument("--only-ingest", action="store_true", help="run only the ingest comparison (4.)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", default=None, help="letters of the queries to time, e.g. c,d (skips 2 to 4)")
    ap.add_argument("--reuse", action="store_true", help="open the databases an earlier run made in --folder")
    ap.add_argument("--lib", default=LIB, help="the extension to load (default: this checkout's release build)")
    args = ap.parse_args()
    global lib
    lib = args.lib
    if args.reuse and not args.folder:
        sys.exit("--reuse needs --folder")
    folder = args.folder or tempfile.mkdtemp(prefix="bench-rollups-")
    os.makedirs(folder, exist_ok=True)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.markdown else print
    if args.only_ingest:
        log(f"generating the first {args.ingest:,} of {args.events:,} events")
        events = generate(args.events, args.seed, args.ingest)
        ing = ingest(folder, events, args.reps)
        print(ingest_line(ing, len(events), args.reps, args.markdown))
        return
    # Written once both databases are loaded, removed before anything writes to them.
    marker, made_by = os.path.join(folder, "loaded.txt"), f"{args.events} {args.seed}\n"
    reused = args.reuse and os.path.exists(marker) and open(marker).read() == made_by
    ing = None
    if reused:
        log(f"reusing the databases of {args.events:,} events in {folder}")
        import duckdb
        conn, load_s, built, refresh_s = connect(os.path.join(folder, "coll.db")), 0.0, 0, 0.0
        duck = duckdb.connect(os.path.join(folder, "duck.db"))
    else:
        if os.path.exists(marker):
            os.remove(marker)
        for name in ("coll.db", "coll.db-wal", "coll.db-shm"):
            if os.path.exists(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
        log(f"generating {args.events:,} events")
        events = generate(args.events, args.seed)
        if not args.only:
            log(f"ingest: {min(args.ingest, len(events)):,} rows, with and without a rollup")
            ing = ingest(folder, events[:args.ingest], args.reps)
        log("loading the collection")
        conn, load_s, built, refresh_s = load(folder, events)
        log(f"  {load_s:.1f} s, partials of {built} shards in {refresh_s:.1f} s; loading DuckDB")
        duck = load_duckdb(folder, events)
        del events
        with open(marker, "w") as f:
            f.write(made_by)
    if ing is None and not args.only:
        sys.exit("the full run measures ingest: run it without --reuse, or time queries with --only")

    week, week_end = ms(YEAR, 6, 3), ms(YEAR, 6, 10)
    month, month_end = ms(YEAR, 3), ms(YEAR, 4)
    jx = "json_extract(doc, '$.{}')".format
    day_text = "strftime('%Y-%m-%d 00:00:00', ts / 1000, 'unixepoch')"
    hour_text = "strftime('%Y-%m-%d %H:00:00', ts / 1000, 'unixepoch')"
    queries = [
        ("(a) count, sum by day and type, a year",
         "SELECT bucket, type, n, dur FROM by_day_type ORDER BY bucket, type",
         f"SELECT {day_text}, {jx('type')} AS t, count(*), sum({jx('dur')}) FROM events GROUP BY 1, 2 ORDER BY 1, 2",
         "SELECT date_trunc('day', ts), type, count(*), sum(dur) FROM ev GROUP BY 1, 2 ORDER BY 1, 2", True),
        ("(b) count by hour and type, a week",
         f"SELECT bucket, type, n FROM by_hour_type WHERE bucket_ms >= {week} AND bucket_ms < {week_end} ORDER BY bucket, type",
         f"SELECT {hour_text}, {jx('type')}, count(*) FROM events WHERE ts >= {week} AND ts < {week_end} GROUP BY 1, 2 ORDER BY 1, 2",
         f"SELECT date_trunc('hour', ts), type, count(*) FROM ev WHERE ts >= make_timestamp({week * 1000}) "
         f"AND ts < make_timestamp({week_end * 1000}) GROUP BY 1, 2 ORDER BY 1, 2", True),
        ("(c) distinct users per day, a month",  # the collection: exact count(DISTINCT)
         f"SELECT bucket, users FROM by_day WHERE bucket >= '2024-03-01' AND bucket < '2024-04-01' ORDER BY bucket",
         f"SELECT {day_text}, count(DISTINCT {jx('user')}) FROM events "
         f"WHERE ts >= {month} AND ts < {month_end} GROUP BY 1 ORDER BY 1",
         f"SELECT date_trunc('day', ts), count(DISTINCT \"user\") FROM ev WHERE ts >= make_timestamp({month * 1000}) "
         f"AND ts < make_timestamp({month_end * 1000}) GROUP BY 1 ORDER BY 1", False),
        ("(c) distinct users of the month, merged",
         "SELECT shards_distinct(users_state) FROM by_day WHERE bucket >= '2024-03-01' AND bucket < '2024-04-01'",
         f"SELECT count(DISTINCT {jx('user')}) FROM events WHERE ts >= {month} AND ts < {month_end}",
         f"SELECT count(DISTINCT \"user\") FROM ev WHERE ts >= make_timestamp({month * 1000}) "
         f"AND ts < make_timestamp({month_end * 1000})", False),
        ("(d) p95 of dur per day, a month",
         f"SELECT bucket, p95 FROM by_day WHERE bucket >= '2024-03-01' AND bucket < '2024-04-01' ORDER BY bucket",
         f"SELECT d, shards_quantile(s, 0.95) FROM (SELECT {day_text} AS d, shards_quantile_state({jx('dur')}) AS s "
         f"FROM events WHERE ts >= {month} AND ts < {month_end} GROUP BY 1) GROUP BY 1 ORDER BY 1",
         f"SELECT date_trunc('day', ts), quantile_cont(dur, 0.95) FROM ev WHERE ts >= make_timestamp({month * 1000}) "
         f"AND ts < make_timestamp({month_end * 1000}) GROUP BY 1 ORDER BY 1", False),
    ]
    if args.only:
        letters = {f"({x.strip()})" for x in args.only.split(",")}
        queries = [q for q in queries if q[0].split()[0] in letters]
    rows = []
    for name, rollup_sql, coll_sql, duck_sql, exact in queries:
        r = conn.execute(rollup_sql).fetchall()
        c = conn.execute(coll_sql).fetchall()
        def norm(rows):   # sums of reals: added per shard, then across them
            return [tuple(round(v, 6) if isinstance(v, float) else v for v in x) for x in rows]
        if exact and norm(r) != norm(c):
            sys.exit(f"{name}: the rollup and the collection disagree ({len(r)} and {len(c)} rows)")
        log(f"timing {name}")
        tr = timed(lambda: conn.execute(rollup_sql).fetchall(), args.reps)
        tc = timed(lambda: conn.execute(coll_sql).fetchall(), max(1, args.reps // 2))
        td = timed(lambda: duck.execute(duck_sql).fetchall(), args.reps)
        rows.append((name, len(r), tr, tc, td))
    if args.only:
        return report_queries(rows, args)
    os.remove(marker)   # what follows writes to the collection
    # (a) again while the last day holds 50,000 more rows, not built: that shard is
    # aggregated at query time.
    last_day = ms(YEAR, 12, 31)
    with conn:
        for i in range(50_000):
            conn.execute("INSERT INTO events(doc) VALUES (?)",
                         (doc((last_day + i * 1700, TYPES[i % 10][0], i % USERS, 1.5, "web", "US", "/x")),))
    name, rollup_sql, coll_sql, duck_sql, _ = queries[0]
    r, c = conn.execute(rollup_sql).fetchall(), conn.execute(coll_sql).fetchall()
    if [tuple(round(v, 6) if isinstance(v, float) else v for v in x) for x in r] != \
            [tuple(round(v, 6) if isinstance(v, float) else v for v in x) for x in c]:
        sys.exit("(a) with 50k unbuilt rows: the rollup and the collection disagree")
    log("timing (a) with 50k unbuilt rows")
    tr = timed(lambda: conn.execute(rollup_sql).fetchall(), args.reps)
    tc = timed(lambda: conn.execute(coll_sql).fetchall(), max(1, args.reps // 2))
    rows.append(("(a) again, 50,000 rows of the last day not built", len(r), tr, tc, None))
    try:
        partial_bytes = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'by!_%!_partials%' ESCAPE '!' "
                                     "OR name LIKE 'by!_%!_built' ESCAPE '!'").fetchall()[0][0]
        coll_bytes = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'events%'").fetchall()[0][0]
    except apsw.Error:
        partial_bytes = coll_bytes = None
    conn.execute("DELETE FROM plain WHERE ts >= ?", (last_day,))
    conn.execute("INSERT INTO plain(ts, doc) SELECT ts, doc FROM events WHERE ts >= ?", (last_day,))
    t_count = timed(lambda: conn.execute("SELECT count(*) FROM events").fetchall(), args.reps)
    t_plain = timed(lambda: conn.execute("SELECT count(*) FROM plain").fetchall(), args.reps)
    n_rows = conn.execute("SELECT count(*) FROM events").fetchall()[0][0]
    try:   # the floor of any virtual table: SQLite's own C series table steps as many rows
        t_series = timed(lambda: conn.execute("SELECT count(*) FROM generate_series(1, ?)", (n_rows,)).fetchall(),
                         args.reps)
    except apsw.Error:
        t_series = None
    assert n_rows == conn.execute("SELECT count(*) FROM plain").fetchall()[0][0]

    f = fmt
    if args.markdown:
        print(f"{args.events:,} events over {YEAR}, `partition = day`; medians of {args.reps} rounds; load {load_s:.0f} s; "
              f"`shard_rollup_refresh` of the three rollups: {built} shards in {refresh_s:.1f} s.\n")
    report_queries(rows, args)
    if args.markdown:
        if partial_bytes:
            print(f"\nPartials of the three rollups: {partial_bytes / 1e6:.1f} MB, "
                  f"{100 * partial_bytes / coll_bytes:.2f}% of the collection's {coll_bytes / 1e6:.0f} MB.")
        print(f"\n`count(*)` of {n_rows:,} rows: collection {f(t_count)}, plain table {f(t_plain)} "
              f"({t_count / t_plain:.1f}x)" + (f"; SQLite's own `generate_series` virtual table, as many rows: {f(t_series)} "
              f"(the collection {t_count / t_series:.2f}x it)" if t_series else "") + ".")
        print("\n" + ingest_line(ing, min(args.ingest, args.events), args.reps, True))
    else:
        print(f"count(*): collection {f(t_count)}, plain {f(t_plain)} ({t_count / t_plain:.1f}x), "
              f"generate_series {f(t_series) if t_series else '-'}")
        print(ingest_line(ing, min(args.ingest, args.events), args.reps, False))


def fmt(s):
    return f"{s * 1000:.2f} ms" if s < 10 else f"{s:.1f} s"


def report_queries(rows, args):
    """The timed queries: a markdown table, or a line each."""
    if args.markdown:
        print("| query | rows | rollup | GROUP BY through the collection | DuckDB | collection ÷ rollup | DuckDB ÷ rollup |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, n, tr, tc, td in rows:
            dd = fmt(td) if td else "–"
            ratio = f"{td / tr:.2f}x" if td else "–"
            print(f"| {name} | {n} | {fmt(tr)} | {fmt(tc)} | {dd} | {tc / tr:.1f}x | {ratio} |")
    else:
        for name, n, tr, tc, td in rows:
            print(f"{name:45} {n:6} rollup {fmt(tr):>10}  collection {fmt(tc):>10}  duckdb {fmt(td) if td else '-':>10}")

if __name__ == "__main__":
    main()
