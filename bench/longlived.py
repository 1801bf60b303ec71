"""Long-lived collections: late and unsorted documents (bench/ingest.py, section 5).

A flights-like year (five indexed paths, `partition = day` or `hour`) against a plain
table with the same indexes, in the same run, every figure a ratio to plain:

5a. bulk load, 5,000 rows per executemany, one transaction each: the file in its own
    order (months 1, 10, 11, 12, 2, ..., 9: two thirds late once December is in),
    the same rows sorted by time, and the plain table fed the file's order;
5b. a year loaded (sorted), then single-row autocommit INSERTs of current documents
    (the newest day) and of late ones (random earlier days), daily and hourly, with
    `PRAGMA schema_version` counted over the late ones;
5c. a second connection's point lookup (`WHERE id = ?`) timed idle and while another
    process streams late autocommit inserts into the collection.

The sides of a measurement run in the same process and take turns (a transaction or
50 inserts each), so that load from other work on the machine falls on all alike.
"""
import multiprocessing
import os
import random
import statistics
import time

from events import connect, scalar

YEAR = 2024
DAY_MS = 86_400_000
CARRIERS = ["AA", "DL", "UA", "WN", "B6", "AS", "NK", "F9", "HA", "G4", "OO", "YX", "MQ", "9E"]
AIRPORTS = [f"A{i:02d}" for i in range(80)]
INDEXES = ("index = 'carrier: $.carrier', index = 'origin: $.origin', index = 'dest: $.dest', "
           "index = 'flight: $.flight integer', index = 'delay: $.delay integer'")
PLAIN_INDEXES = ("carrier", "origin", "dest", "flight", "delay")
BULK_CHUNK = 5_000


def month_start(m):
    import calendar
    return calendar.timegm((YEAR, m, 1, 0, 0, 0)) * 1000


def flight(rng, ts):
    return ('{"ts":%d,"carrier":"%s","origin":"%s","dest":"%s","flight":%d,"delay":%d,"distance":%d,'
            '"tail":"N%03d%s"}' % (ts, rng.choice(CARRIERS), rng.choice(AIRPORTS), rng.choice(AIRPORTS),
                                   rng.randrange(1, 7000), rng.randrange(-30, 240), rng.randrange(100, 3000),
                                   rng.randrange(1000), rng.choice("ABCDEFGH")))


def year_docs(n, seed, file_order):
    """n flights over the year, sorted by time within each month; months in the
    file's order (1, 10, 11, 12, 2..9) when file_order, else in calendar order."""
    rng = random.Random(seed)
    start, end = month_start(1), month_start(1) + 366 * DAY_MS
    times = sorted(rng.randrange(start, end) for _ in range(n))
    docs = [flight(rng, t) for t in times]
    if not file_order:
        return docs, times
    by_month = {}
    for d, t in zip(docs, times):
        by_month.setdefault(time.gmtime(t // 1000).tm_mon, []).append((d, t))
    order = [1, 10, 11, 12] + list(range(2, 10))
    pairs = [p for m in order for p in by_month.get(m, [])]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def open_side(path, side, partition, extra=""):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s):
            os.remove(path + s)
    conn = connect(path, 0)
    if side == "plain":
        conn.execute("CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc BLOB NOT NULL);"
                     "CREATE INDEX plain_ts ON plain(ts);"
                     + "".join(f"CREATE INDEX plain_{p} ON plain(json_extract(doc, '$.{p}'));" for p in PLAIN_INDEXES))
    else:
        conn.execute(f"CREATE VIRTUAL TABLE events USING shards(partition = {partition}, time = '$.ts', "
                     f"{INDEXES}{extra})")
    return conn


def insert_sql(side):
    return ("INSERT INTO plain(ts, doc) VALUES (json_extract(?1, '$.ts'), jsonb(?1))" if side == "plain"
            else "INSERT INTO events(doc) VALUES (?)")


def bulk_chunks(conn, side, docs):
    """A generator that loads docs in BULK_CHUNK-row transactions, one per step,
    yielding the seconds each took."""
    sql = insert_sql(side)
    for i in range(0, len(docs), BULK_CHUNK):
        params = [(d,) for d in docs[i:i + BULK_CHUNK]]
        t = time.perf_counter()
        with conn:
            conn.executemany(sql, params)
        yield time.perf_counter() - t


def bulk(conn, side, docs):
    """Seconds to load docs in BULK_CHUNK-row transactions."""
    return sum(bulk_chunks(conn, side, docs))


def count(conn, side):
    return scalar(conn, f"SELECT count(*) FROM {'plain' if side == 'plain' else 'events'}")


def interleaved(runs):
    """Steps several timed generators in turn, a step each, so that load from other
    work on the machine falls on every side alike; returns each one's total seconds."""
    spent = [0.0] * len(runs)
    live = list(range(len(runs)))
    while live:
        for i in list(live):
            try:
                spent[i] += next(runs[i])
            except StopIteration:
                live.remove(i)
    return spent


def autocommit_steps(conn, side, docs, step=50):
    """Single-row autocommit INSERTs, `step` rows per generator step."""
    sql = insert_sql(side)
    for i in range(0, len(docs), step):
        t = time.perf_counter()
        for d in docs[i:i + step]:
            conn.execute(sql, (d,))
        yield time.perf_counter() - t


def bulk_section(base, rows, seed, log):
    file_docs, _ = year_docs(rows, seed, True)
    sorted_docs, _ = year_docs(rows, seed, False)
    sides = (("plain", "plain", file_docs), ("unsorted", "coll", file_docs), ("sorted", "coll", sorted_docs))
    conns = [open_side(os.path.join(base, f"bulk-{label}.db"), side, "day") for label, side, _ in sides]
    spent = interleaved([bulk_chunks(c, side, docs) for c, (_, side, docs) in zip(conns, sides)])
    out = {}
    for conn, (label, side, docs), s in zip(conns, sides, spent):
        assert count(conn, side) == len(docs), label
        shards = "" if side == "plain" else f", {scalar(conn, 'SELECT count(*) FROM shard_list(?)', ('events',))} tables"
        conn.close()
        out[label] = len(docs) / s
        log(f"  bulk {label:<8}: {out[label]:9,.0f} rows/s ({s:5.1f} s){shards}; count checked")
    return out


def late_docs(rng, n, newest_day_start):
    """n documents for random earlier days of the year (never the newest day)."""
    start = month_start(1)
    return [flight(rng, rng.randrange(start, newest_day_start)) for _ in range(n)]


def long_lived_section(base, partition, rows, inserts, seed, log):
    """A year loaded sorted, then autocommit inserts of current and of late documents,
    the two sides taking turns every 50 inserts."""
    docs, times = year_docs(rows, seed, False)
    newest = times[-1]
    day_start = newest - newest % (3_600_000 if partition == "hour" else DAY_MS)
    rng = random.Random(seed + 1)
    current = [flight(rng, rng.randrange(day_start, newest + 1)) for _ in range(inserts)]
    late = late_docs(rng, inserts, day_start)
    sides = ("plain", "coll")
    conns = [open_side(os.path.join(base, f"long-{partition}-{side}.db"), side, partition) for side in sides]
    interleaved([bulk_chunks(c, side, docs) for c, side in zip(conns, sides)])
    cur = interleaved([autocommit_steps(c, side, current) for c, side in zip(conns, sides)])
    v0 = [scalar(c, "PRAGMA schema_version") for c in conns]
    lat = interleaved([autocommit_steps(c, side, late) for c, side in zip(conns, sides)])
    out = {}
    for i, (conn, side) in enumerate(zip(conns, sides)):
        changes = scalar(conn, "PRAGMA schema_version") - v0[i]
        assert count(conn, side) == rows + 2 * inserts, side
        tables = "" if side == "plain" else f", {scalar(conn, 'SELECT count(*) FROM shard_list(?)', ('events',))} tables"
        conn.close()
        out[side] = {"current": inserts / cur[i], "late": inserts / lat[i], "schema_changes": changes / inserts}
        log(f"  {partition:<4} {side:<5}: current {inserts / cur[i]:8,.0f} rows/s, late {inserts / lat[i]:8,.0f} rows/s, "
            f"{changes / inserts:.3f} schema changes per late document{tables}; count checked")
    return out


def _stream_late(path, n, newest_day_start, seed, ready, done):
    conn = connect(path, 0)
    conn.execute("PRAGMA busy_timeout = 10000")
    docs = late_docs(random.Random(seed), n, newest_day_start)
    ready.set()
    for d in docs:
        conn.execute("INSERT INTO events(doc) VALUES (?)", (d,))
    conn.close()
    done.set()


def reader_section(base, rows, inserts, seed, log):
    """Median point-lookup latency of a reader, idle and while late documents stream in."""
    path = os.path.join(base, "reader.db")
    docs, times = year_docs(rows, seed, False)
    conn = open_side(path, "coll", "day")
    bulk(conn, "coll", docs)
    conn.close()
    reader = connect(path, 0)
    reader.execute("PRAGMA busy_timeout = 10000")
    ids = [r[0] for r in reader.execute("SELECT id FROM events")]
    rng = random.Random(seed + 2)

    def lookups(stop=None, limit=2000):
        spent = []
        while len(spent) < limit and not (stop and stop.is_set()):
            i = rng.choice(ids)
            t = time.perf_counter()
            got = reader.execute("SELECT doc FROM events WHERE id = ?", (i,)).fetchall()
            spent.append(time.perf_counter() - t)
            assert len(got) == 1
        return spent

    idle = lookups()
    newest = times[-1]
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_stream_late, args=(path, inserts, newest - newest % DAY_MS, seed + 3, ready, done))
    p.start()
    ready.wait()
    during = lookups(stop=done, limit=10**9)
    p.join()
    if p.exitcode != 0:
        raise SystemExit("the late-document writer failed")
    reader.close()
    out = {"idle": statistics.median(idle), "during": statistics.median(during), "n": len(during)}
    log(f"  reader: point lookup {out['idle'] * 1e6:,.0f} µs idle, {out['during'] * 1e6:,.0f} µs while "
        f"{inserts:,} late documents stream in ({len(during):,} lookups)")
    return out


def run(base, args, log, row, fmt_rate):
    """Section 5 of bench/ingest.py: measures, then adds its rows to the report."""
    log()
    log(f"5. long-lived collections: five indexed paths; bulk {args.ll_rows:,} rows (5,000 per transaction), "
        f"a year of {args.ll_rows:,} (daily) and {args.ll_hourly_rows:,} (hourly) rows then "
        f"{args.ll_inserts:,} autocommit inserts each of current and late documents")
    b = bulk_section(base, args.ll_rows, args.seed, log)
    daily = long_lived_section(base, "day", args.ll_rows, args.ll_inserts, args.seed, log)
    hourly = long_lived_section(base, "hour", args.ll_hourly_rows, args.ll_inserts, args.seed, log)
    rd = reader_section(base, args.ll_rows, args.ll_inserts, args.seed, log)
    pl = b["plain"]
    row("5a. bulk load in the file's order (two thirds late), partition = day", fmt_rate(b["unsorted"]), fmt_rate(pl),
        f"{b['unsorted'] / pl:.2f}x; {b['sorted'] / b['unsorted']:.2f}x the time of sorted",
        "≥ 0.5x, and sorted within 1.5x", b["unsorted"] / pl >= 0.5 and b["sorted"] / b["unsorted"] <= 1.5)
    row("5b. the same rows sorted by time", fmt_rate(b["sorted"]), fmt_rate(pl), f"{b['sorted'] / pl:.2f}x")
    for label, r in (("daily", daily), ("hourly", hourly)):
        c, p = r["coll"], r["plain"]
        row(f"5c. {label}: autocommit INSERT of a current document", fmt_rate(c["current"]), fmt_rate(p["current"]),
            f"{c['current'] / p['current']:.2f}x", "≥ 0.8x", c["current"] / p["current"] >= 0.8)
        row(f"5d. {label}: autocommit INSERT of a late document", fmt_rate(c["late"]), fmt_rate(p["late"]),
            f"{c['late'] / p['late']:.2f}x", "≥ 0.5x", c["late"] / p["late"] >= 0.5)
        row(f"5e. {label}: schema changes per late document", f"{c['schema_changes']:.3f}", "", "—", "≤ 0.05",
            c["schema_changes"] <= 0.05)
    row("5f. reader's point lookup while late documents stream in (median; vs idle)",
        f"{rd['during'] * 1e6:,.0f} µs", "", f"{rd['during'] / rd['idle']:.2f}x idle ({rd['idle'] * 1e6:,.0f} µs)",
        "≤ 2x idle", rd["during"] / rd["idle"] <= 2)
