"""Shard-count benchmark: does a collection stay as fast as one plain table when it
has lived through many periods? Every figure is a ratio against plain SQLite
measured in the same run, on the same machine, with the same documents.

Run it through the wrapper, which builds the release library and the venv first:

    scripts/bench-shardcount --markdown          # the full run
    scripts/bench-shardcount --quick             # about 2 minutes, for iterating

What it does:

1. A synthetic year (bench/events.py: ~180-byte events, 2% arriving up to an hour
   late) of --events documents is loaded into
       CREATE VIRTUAL TABLE events USING shards(partition = day | hour, time = '$.ts',
           index = '$.type', index = 'user: $.user.id', index = '$.dur')
   each in its own database file, and into one plain table with the same indexes
       plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB)  -- doc = jsonb(doc)
   in a file of its own. One transaction per 50,000 rows; the collections take
   `SELECT shard_insert('events', value) FROM json_each(?)`, 1,000 documents per
   statement, and the slowest statement of the load is reported (merges happen
   inside writes).
2. A high-volume day: --hot-events documents in one day with partition = day and a
   small max_rows (--hot-max-rows), so the day is split into many shards, against
   its own plain table.
3. Each collection and its plain table answer the same queries (checked equal,
   then timed: rounds alternate the order; fast queries repeat in a loop so one
   sample lasts ~20 ms; medians): open a connection + a first lookup, a rare
   indexed value, a rare numeric range on an indexed path, count(*), one day by ts,
   and an unindexed condition written as a query document and as json_extract.
4. Scale: --scale-events documents spread over 100, 1,000 and 10,000 hourly
   periods (--scale-periods), each in its own file with a plain table beside it;
   the lookup of a value held by one row at each size, drawn as an SVG chart
   (bench/shardcount.svg, --svg).
"""
import argparse
import calendar
import collections
import gc
import math
import os
import statistics
import sys
import tempfile
import time

import apsw

from events import LIB, ROOT, YEAR, connect, generate, print_footer, print_table, scalar, svg_frame, svg_grid, svg_series, svg_write

START = calendar.timegm((YEAR, 1, 1, 0, 0, 0)) * 1000
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
TX_ROWS = 50_000
BATCH = 1_000
INDEXES = "index = '$.type', index = 'user: $.user.id', index = '$.dur'"
PLAIN = """
    CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, doc BLOB);
    CREATE INDEX plain_ts ON plain(ts);
    CREATE INDEX plain_type ON plain(json_extract(doc, '$.type'));
    CREATE INDEX plain_user ON plain(json_extract(doc, '$.user.id'));
    CREATE INDEX plain_dur ON plain(json_extract(doc, '$.dur'));
"""


def load_collection(conn, docs, options):
    """Loads docs in arrival order; returns (seconds, slowest statement in ms)."""
    conn.execute(f"CREATE VIRTUAL TABLE events USING shards(time = '$.ts', {INDEXES}, {options})")
    sql = "SELECT shard_insert('events', value) FROM json_each(?)"
    total, worst = 0.0, 0.0
    for lo in range(0, len(docs), TX_ROWS):
        t_tx = time.perf_counter()
        conn.execute("BEGIN")
        for b in range(lo, min(lo + TX_ROWS, len(docs)), BATCH):
            arg = "[" + ",".join(docs[b:min(b + BATCH, lo + TX_ROWS, len(docs))]) + "]"
            t = time.perf_counter()
            for _ in conn.execute(sql, (arg,)):
                pass
            worst = max(worst, time.perf_counter() - t)
        t = time.perf_counter()
        conn.execute("COMMIT")
        worst = max(worst, time.perf_counter() - t)
        total += time.perf_counter() - t_tx
    return total, worst * 1000


def load_plain(conn, docs, ts):
    conn.execute(PLAIN)
    t0 = time.perf_counter()
    for lo in range(0, len(docs), TX_ROWS):
        with conn:
            conn.executemany("INSERT INTO plain(ts, doc) VALUES (?, jsonb(?))",
                             zip(ts[lo:lo + TX_ROWS], docs[lo:lo + TX_ROWS]))
    return time.perf_counter() - t0


def schema_objects(conn):
    return scalar(conn, "SELECT count(*) FROM sqlite_schema")


def tables_of(conn):
    return scalar(conn, "SELECT count(*) FROM shard_list('events')")


class Pair:
    """One question asked of a collection and of its plain table."""

    def __init__(self, label, coll_sql, plain_sql, params=(), goal=None, plain_params=None):
        self.label, self.coll_sql, self.plain_sql, self.params, self.goal = label, coll_sql, plain_sql, params, goal
        self.plain_params = params if plain_params is None else plain_params
        self.samples = {}


def pairs_for(rare_user, dur_lo, day_start):
    jt, ju, jd = ("json_extract(doc, '$.type')", "json_extract(doc, '$.user.id')", "json_extract(doc, '$.dur')")
    agg_c, agg_p = "count(*), sum(length(doc))", "count(*), sum(length(json(doc)))"
    return [
        Pair("rare indexed value: user = ? (a user with 2 events)",
             "SELECT 0, ts, type FROM events WHERE user = ? ORDER BY ts",
             f"SELECT 0, ts, {jt} FROM plain WHERE {ju} = ? ORDER BY ts", (rare_user,), 2),
        Pair("rare numeric range: dur >= ? (the 5 longest)",
             "SELECT ts, dur FROM events WHERE dur >= ?",
             f"SELECT ts, {jd} FROM plain WHERE {jd} >= ?", (dur_lo,), 2),
        Pair("count(*) of everything", "SELECT count(*) FROM events", "SELECT count(*) FROM plain", (), 1.5),
        Pair("one day by ts: count + sum(length(doc))",
             f"SELECT {agg_c} FROM events WHERE ts >= ? AND ts < ?",
             f"SELECT {agg_p} FROM plain WHERE ts >= ? AND ts < ?", (day_start, day_start + DAY_MS), None),
        Pair("query document on an indexed path: {type: refund, user.id: {$lt: 500}}",
             "SELECT count(*) FROM events(?)",
             f"SELECT count(*) FROM plain WHERE {jt} = 'refund' AND {ju} < 500",
             ('{"type":"refund","user.id":{"$lt":500}}',), None, ()),
        Pair("unindexed, as a query document: {country: SE, app: api}",
             "SELECT count(*) FROM events(?)",
             "SELECT count(*) FROM plain WHERE json_extract(doc, '$.country') = 'SE' AND json_extract(doc, '$.app') = 'api'",
             ('{"country":"SE","app":"api"}',), None, ()),
        Pair("unindexed, as json_extract in SQL: country = SE AND app = api",
             "SELECT count(*) FROM events WHERE json_extract(doc, '$.country') = 'SE' AND json_extract(doc, '$.app') = 'api'",
             "SELECT count(*) FROM plain WHERE json_extract(doc, '$.country') = 'SE' AND json_extract(doc, '$.app') = 'api'",
             (), None),
    ]


def run_pair(conn, sql, params):
    return conn.execute(sql, params).fetchall()


def check_and_time(sides, pairs, reps, log):
    """sides: {name: (collection conn, plain conn)}. Checks every answer, then times."""
    inner = {}
    for p in pairs:
        want = None
        for name, (cc, pc) in sides.items():
            got_c = run_pair(cc, p.coll_sql, p.params)
            got_p = run_pair(pc, p.plain_sql, p.plain_params)
            ordered = "ORDER BY" in p.coll_sql   # otherwise rows may come in any order
            if (got_c != got_p) if ordered else (sorted(got_c) != sorted(got_p)):
                raise SystemExit(f"RESULT MISMATCH in {name}: {p.label}\n  collection: {str(got_c)[:300]}\n  plain: {str(got_p)[:300]}")
            want = got_p
            for side, conn, sql, args in ((name, cc, p.coll_sql, p.params), ("plain:" + name, pc, p.plain_sql, p.plain_params)):
                t = time.perf_counter()
                run_pair(conn, sql, args)
                inner[(side, p.label)] = max(1, min(2000, math.ceil(0.02 / max(time.perf_counter() - t, 1e-6))))
        log(f"  checked: {p.label}: {str(want)[:80]}")
    gc.disable()
    try:
        for rep in range(reps):
            order = pairs if rep % 2 == 0 else list(reversed(pairs))
            for p in order:
                for name, (cc, pc) in (sides.items() if rep % 2 == 0 else reversed(list(sides.items()))):
                    for side, conn, sql, args in ((name, cc, p.coll_sql, p.params),
                                                  ("plain:" + name, pc, p.plain_sql, p.plain_params)):
                        n = inner[(side, p.label)]
                        t = time.perf_counter()
                        for _ in range(n):
                            run_pair(conn, sql, args)
                        p.samples.setdefault(side, []).append((time.perf_counter() - t) / n * 1000)
    finally:
        gc.enable()


def open_and_first(path, sql, params, reps):
    """A new connection, the extension loaded, and a first lookup: median ms."""
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        conn = apsw.Connection(path)
        conn.enable_load_extension(True)
        conn.load_extension(LIB)
        conn.execute(sql, params).fetchall()
        samples.append((time.perf_counter() - t) * 1000)
        conn.close()
    return statistics.median(samples)


def ms(x):
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def svg_chart(path, sizes, coll, plain, title, subtitle):
    """Lookup ms against the number of periods (log scale), collection and plain."""
    w, h = 640, 380
    left, right, top, bottom = 70, 150, 56, 56
    pw, ph = w - left - right, h - top - bottom
    ymax_raw = max(coll + plain) * 1.2
    mag = 10 ** math.floor(math.log10(ymax_raw))
    ystep = next(s * mag for s in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5) if ymax_raw / (s * mag) <= 8)
    ymax = ystep * math.ceil(ymax_raw / ystep)
    lo, hi = math.log10(sizes[0]), math.log10(sizes[-1])

    def X(n):
        return left + pw * ((math.log10(n) - lo) / (hi - lo) if hi > lo else 0.5)

    def Y(v):
        return top + ph * (1 - v / ymax)

    out = svg_frame(w, h, left, pw, title, subtitle)
    out += svg_grid(left, pw, Y, ymax, ystep, lambda y: f"{y:g}")
    for n in sizes:
        out.append(f'<line x1="{X(n):.1f}" y1="{top + ph}" x2="{X(n):.1f}" y2="{top + ph + 5}" stroke="#333"/>')
        out.append(f'<text x="{X(n):.1f}" y="{top + ph + 20}" text-anchor="middle">{n:,}</text>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 14}" text-anchor="middle">hourly periods lived through</text>')
    out.append(f'<text transform="translate(20 {top + ph / 2}) rotate(-90)" text-anchor="middle">lookup, ms (median)</text>')
    for k, (name, values, color) in enumerate((("collection", coll, "#1f77b4"), ("plain table", plain, "#d62728"))):
        out += svg_series([(X(n), Y(v)) for n, v in zip(sizes, values)], color, name, k, left + pw, top, 3)
    svg_write(path, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller run for iterating (~2 minutes)")
    ap.add_argument("--events", type=int, help="documents of the synthetic year (default 340,000; quick 60,000)")
    ap.add_argument("--days", type=int, help="days the 'year' spans (default 366; quick 60)")
    ap.add_argument("--hot-events", type=int, help="documents of the high-volume day (default 200,000; quick 40,000)")
    ap.add_argument("--hot-max-rows", type=int, help="max_rows of the high-volume day (default 2,000; quick 500)")
    ap.add_argument("--scale-periods", help="hourly periods of the scale runs (default 100,1000,10000; quick 100,1000)")
    ap.add_argument("--scale-events", type=int, default=20_000, help="documents of each scale run (default 20,000)")
    ap.add_argument("--reps", type=int, help="timed rounds (default 7; quick 3)")
    ap.add_argument("--dir", help="directory for the database files (default: a temporary directory)")
    ap.add_argument("--svg", default=os.path.join(ROOT, "bench", "shardcount.svg"), help="where the scale chart goes")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = ap.parse_args()
    q = args.quick
    events = args.events or (60_000 if q else 340_000)
    days = args.days or (60 if q else 366)
    hot_events = args.hot_events or (40_000 if q else 200_000)
    hot_max_rows = args.hot_max_rows or (500 if q else 2_000)
    sizes = [int(x) for x in (args.scale_periods or ("100,1000" if q else "100,1000,10000")).split(",")]
    reps = args.reps or (3 if q else 7)
    t_start = time.perf_counter()

    def log(msg=""):
        print(msg, flush=True, file=sys.stderr if args.markdown else sys.stdout)

    tmpdir = None
    if args.dir:
        base = os.path.abspath(args.dir)
        os.makedirs(base, exist_ok=True)
        for f in os.listdir(base):
            if f.endswith((".db", ".db-wal", ".db-shm", ".db-journal")):
                os.remove(os.path.join(base, f))
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="bench-shardcount-")
        base = tmpdir.name

    probe = apsw.Connection(":memory:")
    probe.enable_load_extension(True)
    probe.load_extension(LIB)
    log(f"SQLite {scalar(probe, 'SELECT sqlite_version()')} (apsw {apsw.apsw_version()}); "
        + " | ".join(scalar(probe, "SELECT shards_debug()").splitlines()))
    probe.close()

    # ------------------------------------------------ the year
    end = START + days * DAY_MS
    docs, ts, users = generate(events, args.seed, START, end)
    per_user = collections.Counter(users)
    rare_user = min(u for u, c in per_user.items() if c == 2)
    durs = sorted(int(d.rsplit('"dur":', 1)[1].rstrip("}")) for d in docs)
    dur_lo = durs[-5]
    mid_day = START + (days // 2) * DAY_MS
    log(f"year: {events:,} events over {days} days; rare user {rare_user}, dur >= {dur_lo}")

    paths = {k: os.path.join(base, f"{k}.db") for k in ("plain", "day", "hour", "hotplain", "hot")}
    load = {}
    conn = connect(paths["plain"], 64)
    load["plain"] = load_plain(conn, docs, ts)
    conn.close()
    log(f"  plain: loaded in {load['plain']:.1f} s")
    info = {}
    for k, opts in (("day", "partition = day"), ("hour", "partition = hour")):
        conn = connect(paths[k], 64)
        secs, worst = load_collection(conn, docs, opts)
        load[k] = secs
        info[k] = {"worst": worst, "tables": tables_of(conn), "objects": schema_objects(conn)}
        assert scalar(conn, "SELECT count(*) FROM events") == events
        conn.close()
        log(f"  {k}: loaded in {secs:.1f} s, slowest statement {worst:.0f} ms, "
            f"{info[k]['tables']} shard tables, {info[k]['objects']} schema objects")

    # ------------------------------------------------ the high-volume day
    hot_day = START + 200 * DAY_MS
    hdocs, hts, husers = generate(hot_events, args.seed + 1, hot_day, hot_day + DAY_MS)
    hper_user = collections.Counter(husers)
    hot_user = min(u for u, c in hper_user.items() if c == 2)
    hdurs = sorted(int(d.rsplit('"dur":', 1)[1].rstrip("}")) for d in hdocs)
    conn = connect(paths["hotplain"], 64)
    load["hotplain"] = load_plain(conn, hdocs, hts)
    conn.close()
    conn = connect(paths["hot"], 64)
    secs, worst = load_collection(conn, hdocs, f"partition = day, max_rows = {hot_max_rows}")
    load["hot"] = secs
    info["hot"] = {"worst": worst, "tables": tables_of(conn), "objects": schema_objects(conn)}
    conn.close()
    log(f"high-volume day: {hot_events:,} events, max_rows {hot_max_rows}: loaded in {secs:.1f} s "
        f"(plain {load['hotplain']:.1f} s), {info['hot']['tables']} shard tables")

    # ------------------------------------------------ queries
    log("queries:")
    year_pairs = pairs_for(rare_user, dur_lo, mid_day)
    conns = {k: connect(p, 64) for k, p in paths.items()}
    check_and_time({"day": (conns["day"], conns["plain"]), "hour": (conns["hour"], conns["plain"])},
                   year_pairs, reps, log)
    hot_pairs = pairs_for(hot_user, hdurs[-5], hot_day)
    check_and_time({"hot": (conns["hot"], conns["hotplain"])}, hot_pairs, reps, log)
    for c in conns.values():
        c.close()
    first = {}
    first_sql = year_pairs[0]
    for k, plain_k, (pair, user) in (("day", "plain", (first_sql, rare_user)), ("hour", "plain", (first_sql, rare_user)),
                                     ("hot", "hotplain", (hot_pairs[0], hot_user))):
        first[k] = open_and_first(paths[k], pair.coll_sql, (user,), reps)
        first[plain_k] = open_and_first(paths[plain_k], pair.plain_sql, (user,), reps)

    # ------------------------------------------------ scale
    log("scale:")
    scale_c, scale_p = [], []
    for n in sizes:
        path = os.path.join(base, f"scale-{n}.db")
        sdocs, sts, susers = generate(args.scale_events, args.seed + 2, START, START + n * HOUR_MS)
        one = min(u for u, c in collections.Counter(susers).items() if c == 1)
        conn = connect(path, 64)
        load_plain(conn, sdocs, sts)
        secs, worst = load_collection(conn, sdocs, "partition = hour")
        tables = tables_of(conn)
        p = Pair(f"lookup at {n} periods", "SELECT ts, type FROM events WHERE user = ?",
                 "SELECT ts, json_extract(doc, '$.type') FROM plain WHERE json_extract(doc, '$.user.id') = ?", (one,))
        conn.close()
        conn = connect(path, 64)
        check_and_time({"c": (conn, conn)}, [p], reps, lambda m: None)
        conn.close()
        scale_c.append(statistics.median(p.samples["c"]))
        scale_p.append(statistics.median(p.samples["plain:c"]))
        log(f"  {n:>6} periods: loaded in {secs:.1f} s, {tables} shard tables; lookup {ms(scale_c[-1])} ms "
            f"(plain {ms(scale_p[-1])} ms)")
        os.remove(path)
    svg_chart(args.svg, sizes, scale_c, scale_p,
              "Lookup of one row by an indexed value, by periods lived through",
              f"scripts/bench-shardcount: partition = hour, {args.scale_events:,} events, apsw, {os.cpu_count()} CPUs")
    log(f"  chart: {os.path.relpath(args.svg, os.getcwd())}")

    # ------------------------------------------------ report
    rows = []

    def row(label, plain, day, hour, hot, goal="—", ok=None):
        rows.append([label, plain, day, hour, hot, goal,
                     "" if ok is None else ("yes" if ok else "**NO**" if args.markdown else "NO")])

    def ratio(x, base_):
        return f"{x / base_:.2f}x"

    row("load (s; ratio to plain)", f"{load['plain']:.1f}", f"{load['day']:.1f} ({ratio(load['day'], load['plain'])})",
        f"{load['hour']:.1f} ({ratio(load['hour'], load['plain'])})",
        f"{load['hot']:.1f} ({ratio(load['hot'], load['hotplain'])})",
        "hour ≤ 1.2x day", load["hour"] <= 1.2 * load["day"])
    row("slowest load statement (1,000 docs), ms", "", ms(info["day"]["worst"]), ms(info["hour"]["worst"]),
        ms(info["hot"]["worst"]))
    row("shard tables / schema objects after the load", "", f"{info['day']['tables']} / {info['day']['objects']}",
        f"{info['hour']['tables']} / {info['hour']['objects']}", f"{info['hot']['tables']} / {info['hot']['objects']}")
    r_day, r_hour, r_hot = first["day"] / first["plain"], first["hour"] / first["plain"], first["hot"] / first["hotplain"]
    row("open a connection + first lookup, ms (ratio)", ms(first["plain"]), f"{ms(first['day'])} ({r_day:.1f}x)",
        f"{ms(first['hour'])} ({r_hour:.1f}x)", f"{ms(first['hot'])} ({r_hot:.1f}x)",
        "≤ 10x", max(r_day, r_hour, r_hot) <= 10)
    for yp, hp in zip(year_pairs, hot_pairs):
        med = {k: statistics.median(v) for k, v in yp.samples.items()}
        hmed = {k: statistics.median(v) for k, v in hp.samples.items()}
        rd, rh, rx = med["day"] / med["plain:day"], med["hour"] / med["plain:hour"], hmed["hot"] / hmed["plain:hot"]
        goal = f"≤ {yp.goal:g}x" if yp.goal else "—"
        ok = max(rd, rh, rx) <= yp.goal if yp.goal else None
        row(yp.label + ", ms (ratio)", ms(statistics.median(yp.samples["plain:day"] + yp.samples["plain:hour"])),
            f"{ms(med['day'])} ({rd:.2f}x)", f"{ms(med['hour'])} ({rh:.2f}x)",
            f"{ms(hmed['hot'])} ({rx:.2f}x; plain {ms(hmed['plain:hot'])})", goal, ok)
    spread = max(scale_c) / min(scale_c)
    row("lookup at " + ", ".join(f"{n:,}" for n in sizes) + " periods, ms",
        " / ".join(ms(x) for x in scale_p), " / ".join(ms(x) for x in scale_c) + f" (max/min {spread:.2f})", "", "",
        "within 1.5x", spread <= 1.5)

    header = ["measurement", "plain table", "partition = day", "partition = hour",
              f"one day, max_rows = {hot_max_rows:,}"]
    header += ["goal", "met"]
    log()
    print(f"{events:,} events over {days} days (day and hour columns; plain is their plain table); "
          f"{hot_events:,} events in one day (last column, against its own plain table); scale runs "
          f"{args.scale_events:,} events. Medians of {reps} rounds.")
    print()
    print_table(header, rows, args.markdown)
    print()
    print_footer([r[0] for r in rows if r[6] not in ("", "yes")], t_start, "scripts/bench-shardcount", args.markdown)
    if tmpdir:
        tmpdir.cleanup()


if __name__ == "__main__":
    main()
