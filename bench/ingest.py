"""Write-path benchmark: loading a `shards` collection against loading one plain
SQLite table with the same indexes, each side in its own fresh database file and in
its own child process (so peak memory is per side).

Run it through the wrapper, which builds the release library and the venv first:

    scripts/bench-ingest                        # the full run (~20 min on 2 cores)
    scripts/bench-ingest --events 200000 --scale-events 3000000 --reps 1 --markdown
    scripts/bench-ingest --skip-scale

What it measures, every figure a ratio against plain SQLite measured in the same run:

1. Batched ingest of --events documents (default 1,000,000), one transaction per
   50,000 rows, WAL, synchronous=NORMAL, into
       CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts',
           index = '$.type', index = 'user: $.user.id')      -- max_rows 100000
   (a) with `INSERT INTO events(doc) VALUES (?)` through executemany, and
   (b) with `SELECT shard_insert('events', value) FROM json_each(?)`, one JSON
       array per transaction; against
   (c) plain(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc BLOB NOT NULL) with
       indexes on ts, json_extract(doc,'$.type') and json_extract(doc,'$.user.id'),
       fed by `INSERT INTO plain(ts, doc) VALUES (json_extract(?1, '$.ts'),
       jsonb(?1))` through executemany (it too reads the time from the document).
   Each of the three runs --reps times (default 3), the order alternating; medians.
2. Scale: --scale-events documents (default 20,000,000) through (a) and through (c),
   one child after the other, recording rows/s for each successive million. The
   chart goes to bench/ingest-scale.svg (--svg).
3. Autocommit single-row inserts (one INSERT statement per row, no BEGIN): the
   collection with buffer = 0 (--autocommit-rows, default 20,000) and with
   buffer = 1000 (--buffered-rows, default 200,000), and the plain table
   (--autocommit-rows) for reference. The buffered figure includes the final
   shard_flush.
4. Peak memory: ru_maxrss of each child process of the 1M runs.
5. Long-lived collections (bench/longlived.py): late and unsorted documents, a
   flights-like year with five indexed paths against a plain table; --only-long-lived
   runs this section alone, --skip-long-lived leaves it out.

The documents are the shape bench/routing.py makes (about 180 bytes: ts, type,
user.id, plan, app, url, session, country, dur). To keep the generator far from
being the bottleneck at 20M rows, a pool of --pool (200,000) documents is made once
per process, each a template with `ts` and `user.id` left open; row i takes
template i mod pool, a ts that advances through 2024 (2% arrive up to an hour late)
and a user from a skewed pool. Each 50k-row transaction's parameters are built
before its clock starts, so only the database call is timed; the generator's own
speed is measured and reported against the slowest side.

Each load ends with a check: count(*) equals the rows inserted and, for the
collection, so does the sum of shard_list's rows.
"""
import argparse
import calendar
import json
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import apsw

import longlived

from events import APPS, COUNTRIES, HEAVY_USERS, LIB, PLANS, ROOT, SECTIONS, TYPES, USERS, YEAR, connect, print_table, scalar, svg_frame, svg_grid, svg_series, svg_write


START = calendar.timegm((YEAR, 1, 1, 0, 0, 0)) * 1000
END = calendar.timegm((YEAR + 1, 1, 1, 0, 0, 0)) * 1000
LATE_MS = 3_600_000  # the latest arrivals are up to an hour behind

USER_POOL = 65_521  # prime, so (template, user, jitter) combinations repeat rarely
JITTER_POOL = 99_991  # prime

TX_ROWS = 50_000
COLLECTION_SQL = (
    "CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts', "
    "index = '$.type', index = 'user: $.user.id'{extra})"
)
PLAIN_SQL = """
    CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc BLOB NOT NULL);
    CREATE INDEX plain_ts ON plain(ts);
    CREATE INDEX plain_type ON plain(json_extract(doc, '$.type'));
    CREATE INDEX plain_user ON plain(json_extract(doc, '$.user.id'));
"""
INSERT_SQL = "INSERT INTO events(doc) VALUES (?)"
SHARD_INSERT_SQL = "SELECT shard_insert('events', value) FROM json_each(?)"
PLAIN_INSERT_SQL = "INSERT INTO plain(ts, doc) VALUES (json_extract(?1, '$.ts'), jsonb(?1))"

# The loading methods a child can run.
METHODS = {
    "insert": "collection, INSERT … VALUES (?) (executemany)",
    "json_each": "collection, SELECT shard_insert(…) FROM json_each(?)",
    "plain": "plain table, INSERT … VALUES (json_extract(?1,'$.ts'), jsonb(?1)) (executemany)",
}


# ---------------------------------------------------------------- data


class Generator:
    """Row i of n: template i mod pool, ts = the i-th step through 2024 minus a
    jitter (a few ms, or for 2% up to an hour: late arrivals), a user from a skewed
    pool. Deterministic from the seed; the same rows for every side."""

    def __init__(self, n, seed, pool):
        rnd = random.Random(seed)

        def pick(pairs, k):
            return rnd.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=k)

        types, apps, plans = pick(TYPES, pool), pick(APPS, pool), pick(PLANS, pool)
        self.templates = [
            '{"ts":%%d,"type":"%s","user":{"id":%%d,"plan":"%s"},"app":"%s",'
            '"url":"https://example.com/%s/%d?ref=%s","session":"%08x",'
            '"country":"%s","dur":%d}'
            % (types[i], plans[i], apps[i], SECTIONS[rnd.randrange(len(SECTIONS))], rnd.randrange(100_000),
               SECTIONS[rnd.randrange(len(SECTIONS))], rnd.getrandbits(32),
               COUNTRIES[rnd.randrange(len(COUNTRIES))], int(rnd.expovariate(1 / 2000)))
            for i in range(pool)
        ]
        self.users = [rnd.randrange(1, HEAVY_USERS + 1) if rnd.random() < 0.2 else rnd.randrange(1, USERS + 1)
                      for _ in range(USER_POOL)]
        self.jitter = [rnd.randrange(LATE_MS) if rnd.random() < 0.02 else rnd.randrange(5_000)
                       for _ in range(JITTER_POOL)]
        self.n = n
        self.t0 = START + LATE_MS  # so no late arrival falls before 2024
        self.span = END - self.t0 - 1

    def docs(self, lo, hi):
        t, p, u, j = self.templates, len(self.templates), self.users, self.jitter
        t0, span, n = self.t0, self.span, self.n
        return [t[i % p] % (t0 + i * span // n - j[i % JITTER_POOL], u[i % USER_POOL]) for i in range(lo, hi)]


def params_for(method, docs):
    if method == "json_each":
        return "[" + ",".join(docs) + "]"
    return [(d,) for d in docs]


# ---------------------------------------------------------------- child side


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def verify(conn, collection, expected):
    """count(*) (and for a collection the sum of shard_list's rows) == expected."""
    if collection:
        count = scalar(conn, "SELECT count(*) FROM events")
        shards, listed = conn.execute("SELECT count(*), sum(rows) FROM shard_list('events')").fetchone()
        ok = count == listed == expected
        return ok, {"count": count, "shard_list_rows": listed, "shards": shards}
    count = scalar(conn, "SELECT count(*) FROM plain")
    return count == expected, {"count": count}


def child_batched(spec):
    """Loads spec['events'] rows in 50k-row transactions; returns the time spent in
    the database, the time spent generating, and rows/s per spec['step'] rows."""
    method, n, step = spec["method"], spec["events"], spec["step"]
    gen = Generator(n, spec["seed"], spec["pool"])
    conn = connect(spec["db"], spec["cache_mb"])
    collection = method != "plain"
    conn.execute(COLLECTION_SQL.format(extra="") if collection else PLAIN_SQL)
    rss_before = maxrss_mib()
    db_s = gen_s = 0.0
    steps, cpu_steps = [], []  # rows/s of each successive `step` rows: wall time, CPU time
    step_s, step_cpu, step_rows = 0.0, 0.0, 0
    t_wall = time.perf_counter()
    for lo in range(0, n, TX_ROWS):
        hi = min(lo + TX_ROWS, n)
        t = time.perf_counter()
        params = params_for(method, gen.docs(lo, hi))
        t1, c1 = time.perf_counter(), time.process_time()
        gen_s += t1 - t
        conn.execute("BEGIN")
        if method == "json_each":
            for _ in conn.execute(SHARD_INSERT_SQL, (params,)):
                pass
        elif method == "insert":
            conn.executemany(INSERT_SQL, params)
        else:
            conn.executemany(PLAIN_INSERT_SQL, params)
        conn.execute("COMMIT")
        dt = time.perf_counter() - t1
        step_cpu += time.process_time() - c1
        db_s += dt
        step_s += dt
        step_rows += hi - lo
        del params
        if step_rows >= step or hi == n:
            steps.append(step_rows / step_s)
            cpu_steps.append(step_rows / step_cpu)
            if spec.get("progress"):
                print(f"    {spec['label']}: {hi / 1e6:5.1f}M rows, last {step_rows / 1e6:g}M at "
                      f"{steps[-1]:9,.0f} rows/s ({time.perf_counter() - t_wall:5.0f} s)", file=sys.stderr, flush=True)
            step_s, step_cpu, step_rows = 0.0, 0.0, 0
    rss_load = maxrss_mib()
    t = time.perf_counter()
    ok, found = verify(conn, collection, n)
    verify_s = time.perf_counter() - t
    conn.close()
    size = sum(os.path.getsize(spec["db"] + s) for s in ("", "-wal") if os.path.exists(spec["db"] + s))
    return {"rows": n, "db_s": db_s, "gen_s": gen_s, "steps": steps, "cpu_steps": cpu_steps, "ok": ok, "found": found,
            "verify_s": verify_s, "rss_before": rss_before, "rss": rss_load, "bytes": size}


def child_autocommit(spec):
    """One INSERT statement per row, no BEGIN. For buffer > 0 the final shard_flush
    is inside the timing."""
    method, n, buffer = spec["method"], spec["events"], spec.get("buffer", 0)
    # A year's worth of time in n rows, like the batched loads.
    gen = Generator(n, spec["seed"], min(spec["pool"], n))
    conn = connect(spec["db"], spec["cache_mb"])
    collection = method != "plain"
    conn.execute(COLLECTION_SQL.format(extra=f", buffer = {buffer}") if collection else PLAIN_SQL)
    docs = gen.docs(0, n)
    sql = INSERT_SQL if collection else PLAIN_INSERT_SQL
    execute = conn.execute
    t = time.perf_counter()
    for d in docs:
        execute(sql, (d,))
    if collection:
        flushed = scalar(conn, "SELECT shard_flush('events')")
    db_s = time.perf_counter() - t
    ok, found = verify(conn, collection, n)
    conn.close()
    return {"rows": n, "db_s": db_s, "ok": ok, "found": found, "rss": maxrss_mib(),
            "flushed": flushed if collection else None}


def child_main(spec):
    result = (child_autocommit if spec["kind"] == "autocommit" else child_batched)(spec)
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- parent side


def run_child(spec, log):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(spec["db"] + s):
            os.remove(spec["db"] + s)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child {spec['label']} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for s in ("", "-wal", "-shm"):
        if os.path.exists(spec["db"] + s) and not spec.get("keep"):
            os.remove(spec["db"] + s)
    if not result["ok"]:
        raise SystemExit(f"child {spec['label']}: wrong row count after the load: expected "
                         f"{result['rows']:,}, found {result['found']}")
    return result


def environment(log, args):
    conn = apsw.Connection(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    log(f"SQLite {scalar(conn, 'SELECT sqlite_version()')} (apsw {apsw.apsw_version()}, "
        f"Python {sys.version.split()[0]})")
    log("shards_debug(): " + " | ".join(scalar(conn, "SELECT shards_debug()").splitlines()))
    load = os.getloadavg()
    log(f"CPUs: {os.cpu_count()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"page cache per connection: {f'{args.cache_mb} MiB' if args.cache_mb else 'SQLite default (2 MiB)'}")
    conn.close()


def rate(r):
    return r["rows"] / r["db_s"]


def fmt_rate(x):
    return f"{x / 1000:,.0f}k rows/s" if x >= 10_000 else f"{x:,.0f} rows/s"


def spread(steps):
    """Over the steps after the first: max/min, and the largest deviation from their median."""
    rest = steps[1:]
    if len(rest) < 2:
        return None, None
    med = statistics.median(rest)
    return max(rest) / min(rest), max(abs(x / med - 1) for x in rest)


def svg_chart(path, step, lines, title, subtitle):
    """A line chart by hand: x = millions inserted, y = rows/s of that step."""
    w, h = 760, 420
    left, right, top, bottom = 80, 190, 56, 56
    pw, ph = w - left - right, h - top - bottom
    n = max(len(v) for _, v, _ in lines)
    xmax = n * step / 1e6
    ymax_raw = max(max(v) for _, v, _ in lines) * 1.1
    mag = 10 ** (len(str(int(ymax_raw))) - 1)
    ystep = next(s * mag for s in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5) if ymax_raw / (s * mag) <= 8)
    ymax = ystep * -(-ymax_raw // ystep)

    def X(v):
        return left + pw * v / xmax

    def Y(v):
        return top + ph * (1 - v / ymax)

    out = svg_frame(w, h, left, pw, title, subtitle)
    out += svg_grid(left, pw, Y, ymax, ystep, lambda y: f"{y / 1000:,.0f}k")
    xt = max(1, round(xmax / 10))
    x = 0
    while x <= xmax + 1e-9:
        out.append(f'<line x1="{X(x):.1f}" y1="{top + ph}" x2="{X(x):.1f}" y2="{top + ph + 5}" stroke="#333"/>')
        out.append(f'<text x="{X(x):.1f}" y="{top + ph + 20}" text-anchor="middle">{x:g}</text>')
        x += xt
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 14}" text-anchor="middle">millions of rows inserted</text>')
    out.append(f'<text transform="translate(20 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'rows/s over each {step / 1e6:g}M rows</text>')
    for k, (name, values, color) in enumerate(lines):
        out += svg_series([(X((i + 1) * step / 1e6), Y(v)) for i, v in enumerate(values)], color, name, k, left + pw, top, 2.6)
    svg_write(path, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="rows of each batched run (default 1,000,000)")
    ap.add_argument("--reps", type=int, default=3, help="batched and autocommit runs per side; medians (default 3)")
    ap.add_argument("--scale-events", type=int, default=20_000_000, help="rows of each scale run (default 20,000,000)")
    ap.add_argument("--skip-scale", action="store_true", help="leave out the scale runs")
    ap.add_argument("--step", type=int, default=1_000_000, help="rows per point of the scale curve (default 1,000,000)")
    ap.add_argument("--autocommit-rows", type=int, default=20_000, help="rows of the buffer = 0 and plain autocommit runs (default 20,000)")
    ap.add_argument("--buffered-rows", type=int, default=200_000, help="rows of the buffer = 1000 autocommit run (default 200,000)")
    ap.add_argument("--pool", type=int, default=200_000, help="document templates per process (default 200,000)")
    ap.add_argument("--cache-mb", type=int, default=0, help="PRAGMA cache_size of every connection in MiB (default: SQLite's, 2 MiB)")
    ap.add_argument("--dir", help="directory for the database files (default: a temporary directory)")
    ap.add_argument("--svg", default=os.path.join(ROOT, "bench", "ingest-scale.svg"), help="where the scale chart goes")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--skip-long-lived", action="store_true", help="leave out section 5 (late and unsorted documents)")
    ap.add_argument("--only-long-lived", action="store_true", help="run section 5 alone")
    ap.add_argument("--ll-rows", type=int, default=336_000, help="section 5: rows of the daily year and the bulk loads (default 336,000)")
    ap.add_argument("--ll-hourly-rows", type=int, default=100_000, help="section 5: rows of the hourly year (default 100,000)")
    ap.add_argument("--ll-inserts", type=int, default=2_000, help="section 5: autocommit inserts of each kind (default 2,000)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    if args.step % TX_ROWS:
        raise SystemExit(f"--step must be a multiple of {TX_ROWS:,}")
    t_start = time.perf_counter()

    def log(msg=""):
        print(msg, flush=True)

    tmpdir = None
    if args.dir:
        base = os.path.abspath(args.dir)
        os.makedirs(base, exist_ok=True)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="bench-ingest-")
        base = tmpdir.name

    environment(log, args)
    rows = []

    def row(label, coll, plain, ratio, goal="—", ok=None):
        rows.append([label, coll, plain, ratio, goal, "" if ok is None else ("yes" if ok else "**NO**" if args.markdown else "NO")])

    if args.only_long_lived:
        longlived.run(base, args, log, row, fmt_rate)
        report(args, rows, log, t_start, tmpdir, only_long_lived=True)
        return
    common = {"seed": args.seed, "pool": args.pool, "cache_mb": args.cache_mb}

    # ------------------------------------------------ 1. batched, and 4. memory
    log()
    log(f"1. batched: {args.events:,} rows per run, {TX_ROWS:,} per transaction, {args.reps} run(s) per method, "
        "each in a fresh file and a fresh child process, order alternating")
    batched = {m: [] for m in METHODS}
    for rep in range(args.reps):
        order = list(METHODS) if rep % 2 == 0 else list(reversed(METHODS))
        for m in order:
            spec = dict(common, kind="batched", method=m, events=args.events, step=args.step,
                        db=os.path.join(base, f"batched-{m}.db"), label=m)
            r = run_child(spec, log)
            batched[m].append(r)
            extra = (f", {r['found']['shards']} shards" if "shards" in r["found"] else "")
            log(f"  run {rep + 1} {m:<9}: {rate(r):9,.0f} rows/s ({r['db_s']:5.1f} s in SQLite, "
                f"{r['gen_s']:4.1f} s generating), maxrss {r['rss']:5.0f} MiB (before loading "
                f"{r['rss_before']:.0f}), file {r['bytes'] / 2**20:,.0f} MiB{extra}; count checked")
    med = {m: statistics.median(rate(r) for r in batched[m]) for m in METHODS}
    rss = {m: statistics.median(r["rss"] for r in batched[m]) for m in METHODS}
    rss0 = {m: statistics.median(r["rss_before"] for r in batched[m]) for m in METHODS}
    gen_rate = statistics.median(r["rows"] / r["gen_s"] for rs in batched.values() for r in rs)

    # ------------------------------------------------ 3. autocommit
    log()
    log(f"3. autocommit single-row INSERTs: buffer = 0 and plain {args.autocommit_rows:,} rows, "
        f"buffer = 1000 {args.buffered_rows:,} rows (final shard_flush timed), {args.reps} run(s) each")
    auto_kinds = [("buffer0", "insert", 0, args.autocommit_rows), ("buffer1000", "insert", 1000, args.buffered_rows),
                  ("plain", "plain", 0, args.autocommit_rows)]
    auto = {k[0]: [] for k in auto_kinds}
    for rep in range(args.reps):
        for name, m, buf, n in auto_kinds if rep % 2 == 0 else list(reversed(auto_kinds)):
            spec = dict(common, kind="autocommit", method=m, buffer=buf, events=n,
                        db=os.path.join(base, f"auto-{name}.db"), label=name)
            r = run_child(spec, log)
            auto[name].append(r)
            log(f"  run {rep + 1} {name:<10}: {rate(r):9,.0f} rows/s ({r['db_s']:5.1f} s); count checked")
    amed = {k: statistics.median(rate(r) for r in v) for k, v in auto.items()}

    # ------------------------------------------------ 2. scale
    scale = {}
    if not args.skip_scale:
        log()
        log(f"2. scale: {args.scale_events:,} rows per side, rows/s per {args.step / 1e6:g}M rows; "
            "the collection (INSERT, executemany) then plain, one after the other")
        for m in ("insert", "plain"):
            spec = dict(common, kind="batched", method=m, events=args.scale_events, step=args.step,
                        db=os.path.join(base, f"scale-{m}.db"), label=f"scale {m}", progress=True)
            r = run_child(spec, log)
            scale[m] = r
            extra = (f", {r['found']['shards']} shards" if "shards" in r["found"] else "")
            log(f"  {m:<6}: {rate(r):9,.0f} rows/s overall ({r['db_s']:6.1f} s in SQLite, {r['gen_s']:5.1f} s "
                f"generating), maxrss {r['rss']:5.0f} MiB, file {r['bytes'] / 2**20:,.0f} MiB{extra}; "
                f"count checked in {r['verify_s']:.1f} s")
        for m in ("insert", "plain"):
            log(f"  {m:<6} rows/s per {args.step / 1e6:g}M: " + " ".join(f"{x / 1000:.0f}k" for x in scale[m]["steps"]))
            log(f"  {m:<6} rows/s of CPU time per {args.step / 1e6:g}M: "
                + " ".join(f"{x / 1000:.0f}k" for x in scale[m]["cpu_steps"]))
        svg_chart(args.svg, args.step,
                  [("collection", scale["insert"]["steps"], "#1f77b4"), ("plain table", scale["plain"]["steps"], "#d62728")],
                  f"Batched ingest, {TX_ROWS // 1000}k rows per transaction: rows/s as the data grows",
                  f"scripts/bench-ingest: INSERT executemany, WAL, synchronous=NORMAL, page cache "
                  f"{f'{args.cache_mb} MiB' if args.cache_mb else '2 MiB (default)'}, {os.cpu_count()} CPUs")
        log(f"  chart: {os.path.relpath(args.svg, os.getcwd())}")
        gen_rate = statistics.median([gen_rate] + [r["rows"] / r["gen_s"] for r in scale.values()])

    # ------------------------------------------------ 5. long-lived collections
    long_rows = []
    if not args.skip_long_lived:
        longlived.run(base, args, log, lambda *a, **k: long_rows.append((a, k)), fmt_rate)

    # ------------------------------------------------ report
    n_label = f"{args.events / 1e6:g}M" if args.events >= 1e6 else f"{args.events:,}"
    for m, label in (("insert", f"1a. batched ingest {n_label}: INSERT … VALUES (?), executemany"),
                     ("json_each", f"1b. batched ingest {n_label}: shard_insert FROM json_each(?)")):
        ratio = med[m] / med["plain"]
        row(label, fmt_rate(med[m]), fmt_rate(med["plain"]), f"{ratio:.2f}x", "≥ 0.9x", ratio >= 0.9)
    slowest = min(med.values())
    if scale:
        si, sp = scale["insert"]["steps"], scale["plain"]["steps"]
        s_label = f"{args.scale_events / 1e6:g}M"
        row(f"2a. scale {s_label}: first {args.step / 1e6:g}M", fmt_rate(si[0]), fmt_rate(sp[0]), f"{si[0] / sp[0]:.2f}x")
        row(f"2b. scale {s_label}: last {args.step / 1e6:g}M", fmt_rate(si[-1]), fmt_rate(sp[-1]), f"{si[-1] / sp[-1]:.2f}x",
            "≥ 0.9x", si[-1] / sp[-1] >= 0.9)
        ri, rp = rate(scale["insert"]), rate(scale["plain"])
        row(f"2c. scale {s_label}: whole load", fmt_rate(ri), fmt_rate(rp), f"{ri / rp:.2f}x", "≥ 0.9x", ri / rp >= 0.9)
        step = f"{args.step / 1e6:g}M"
        (ci, di), (cp, dp) = spread(si), spread(sp)
        if ci is not None:
            row(f"2d. scale: spread of rows/s per {step} after the first (max/min; largest deviation from their median)",
                f"{ci:.2f}; ±{di * 100:.0f}%", f"{cp:.2f}; ±{dp * 100:.0f}%", "—",
                "collection flat within ±20%", di <= 0.2)
            (cc, dc), (cpc, dpc) = spread(scale["insert"]["cpu_steps"]), spread(scale["plain"]["cpu_steps"])
            row(f"2e. the same in CPU time of the child (less sensitive to other load on the machine)",
                f"{cc:.2f}; ±{dc * 100:.0f}%", f"{cpc:.2f}; ±{dpc * 100:.0f}%", "—")
        k = max(1, min(5, (len(si) - 1) // 2))
        if len(si) > 2 * k:
            early = lambda v: statistics.median(v[1:1 + k])
            late = lambda v: statistics.median(v[-k:])
            row(f"2f. scale: trend, median of the last {k} steps / median of steps 2–{k + 1} (steps of {step})",
                f"{late(si) / early(si):.2f}", f"{late(sp) / early(sp):.2f}", "—")
        slowest = min(slowest, min(si), min(sp))
    row("2g. generator alone vs the slowest side (any run, any step)", fmt_rate(gen_rate), "", f"{gen_rate / slowest:.1f}x",
        "≥ 3x", gen_rate / slowest >= 3)
    b0, b1, pa = amed["buffer0"], amed["buffer1000"], amed["plain"]
    row("3a. autocommit single-row INSERT, buffer = 0", fmt_rate(b0), fmt_rate(pa), f"{b0 / pa:.2f}x")
    row("3b. autocommit single-row INSERT, buffer = 1000 (vs plain; vs buffer = 0)", fmt_rate(b1), fmt_rate(pa),
        f"{b1 / pa:.2f}x; {b1 / b0:.1f}x buffer = 0", "≥ 10x buffer = 0 and ≥ 100k rows/s", b1 / b0 >= 10 and b1 >= 100_000)
    for m, label in (("insert", "4a. peak RSS, 1a runs (before loading)"), ("json_each", "4b. peak RSS, 1b runs (before loading)")):
        row(label, f"{rss[m]:.0f} MiB ({rss0[m]:.0f})", f"{rss['plain']:.0f} MiB ({rss0['plain']:.0f})",
            f"{rss[m] / rss['plain']:.2f}x")
    if scale:
        row(f"4c. peak RSS, scale runs", f"{scale['insert']['rss']:.0f} MiB", f"{scale['plain']['rss']:.0f} MiB",
            f"{scale['insert']['rss'] / scale['plain']['rss']:.2f}x")

    for a, k in long_rows:
        row(*a, **k)
    report(args, rows, log, t_start, tmpdir)


def report(args, rows, log, t_start, tmpdir, only_long_lived=False):
    header = ["measurement", "collection", "plain", "ratio coll/plain", "goal", "met"]
    log()
    print_table(header, rows, args.markdown)
    print()
    if not only_long_lived:
        print(f"Throughput is rows / seconds inside SQLite (building each transaction's parameters is not timed); "
              f"medians of {args.reps} run(s). Peak RSS is the child's ru_maxrss, including Python and the "
              f"{args.pool:,}-document pool (the figure in parentheses is before loading).")
    if tmpdir:
        tmpdir.cleanup()
    load = os.getloadavg()
    print(f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (on {os.cpu_count()} CPUs; "
          "other work on the machine shows up as noise in the per-step figures).")
    missed = [r[0] for r in rows if r[5] not in ("", "yes")]
    print()
    print(f"goals missed: {len(missed)}" + ("" if not missed else " (" + "; ".join(missed) + ")"))
    print(f"total run time: {time.perf_counter() - t_start:.0f} s")
    cmd = "scripts/bench-ingest" + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:]))
    print(f"rerun: `{cmd}`" if args.markdown else f"rerun: {cmd}")


if __name__ == "__main__":
    main()
