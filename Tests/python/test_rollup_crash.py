"""Crash safety of rollup partials (docs/rollups.md): a process SIGKILLed while it
builds partials, by shard_rollup_refresh or by upkeep during writes, leaves answers
exact after a restart.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_rollup_crash.py [--quick] [--seed N]

A base WAL database holds `ev USING shards(partition = day, time = '$.ts')` with
20 days of January 2025 and a rollup over it:

    r USING shards_rollup(source = ev, bucket = '1 day', group = '$.k',
                          measure = 'n: count', measure = 's: sum($.v)', measure = 'u: distinct($.u)')
    h USING shards_rollup(source = ev, bucket = '1 day', group = '$.k',
                          measure = 'n: count', measure = 's: sum($.v)')

(h has no sketch, so the writer keeps its parts of the hot shard in memory and writes
them as the shard's prefix about every 1,024 rows: docs/rollups.md).

Operations, each in a child process (this file, `--child`) that SIGKILLs itself
from an SQLite progress handler after a random number of VM steps:

    refresh: SELECT shard_rollup_refresh('r')
    writes:  days 21 to 25 inserted 300 rows a transaction (upkeep builds partials
             as it goes), printing `T n` after each commit.
    hot:     2,400 rows into day 21 alone, 300 a transaction (prefixes of the hot
             shard are written in them), printing `T n` after each commit.

After each kill the parent reopens and checks: integrity_check is ok; each rollup
equals GROUP BY over the collection (n, s; u exact below 256 distinct values), on a
connection that never wrote (which reads h's prefix of the hot shard) and, for h,
after 1,100 more rows into the hot shard (a new prefix, resumed from the old one);
then shard_rollup_refresh runs to the end and the answer is still equal.

Prints one line per check and a final `N passed, M failed`; exits 1 on failure.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile

from harness import Tally, connect, kill_at_progress, spawn

SELF = os.path.abspath(__file__)
DAY = 86_400_000
T0 = 1735689600000  # 2025-01-01
PER_DAY = 300

GROUP_BY = """SELECT ts - ts % 86400000, json_extract(doc, '$.k'), count(*), sum(json_extract(doc, '$.v')),
                     count(DISTINCT json_extract(doc, '$.u'))
                FROM ev GROUP BY 1, 2 ORDER BY 1, 2"""
ROLLUP = "SELECT bucket_ms, k, n, s, u FROM r ORDER BY bucket_ms, k"
HOT = "SELECT bucket_ms, k, n, s FROM h ORDER BY bucket_ms, k"


def docs(day_from, day_to):
    rng = random.Random(day_from)
    out = []
    for d in range(day_from, day_to):
        for i in range(PER_DAY):
            out.append({"ts": T0 + d * DAY + i * 280_000, "k": f"k{i % 5}", "v": rng.randint(0, 99), "u": rng.randint(0, 60)})
    return out


def hot_docs(first, last):
    """Rows first..last-1 of day 21, all in one shard."""
    rng = random.Random(first)
    return [{"ts": T0 + 20 * DAY + i * 30_000, "k": f"k{i % 5}", "v": rng.randint(0, 99), "u": rng.randint(0, 60)}
            for i in range(first, last)]


def build_base(path):
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(partition = day, time = '$.ts')")
    conn.execute("CREATE VIRTUAL TABLE r USING shards_rollup(source = ev, bucket = '1 day', group = '$.k', "
                 "measure = 'n: count', measure = 's: sum($.v)', measure = 'u: distinct($.u)')")
    conn.execute("CREATE VIRTUAL TABLE h USING shards_rollup(source = ev, bucket = '1 day', group = '$.k', "
                 "measure = 'n: count', measure = 's: sum($.v)')")
    with conn:
        conn.execute("SELECT count(shard_insert('ev', value)) FROM json_each(?)", (json.dumps(docs(0, 20)),))
    conn.close()


def child(path, op, kill_at):
    conn = connect(path)
    calls = kill_at_progress(conn, 100, kill_at)
    print("G", flush=True)
    if op == "refresh":
        conn.execute("SELECT shard_rollup_refresh('r')").fetchall()
    else:
        rows = docs(20, 25) if op == "writes" else hot_docs(0, 2400)
        for n, i in enumerate(range(0, len(rows), 300)):
            with conn:
                for d in rows[i:i + 300]:
                    conn.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps(d),))
            print(f"T {n}", flush=True)
    print(f"DONE {calls[0]}", flush=True)


def check(t, path, label):
    conn = connect(path)
    t.check(f"{label}: integrity", conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)])
    want = conn.execute(GROUP_BY).fetchall()
    t.check(f"{label}: rollup equals GROUP BY", conn.execute(ROLLUP).fetchall() == want)
    hot_want = [row[:4] for row in want]
    t.check(f"{label}: h equals GROUP BY", conn.execute(HOT).fetchall() == hot_want)
    prefixes = conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'h_prefix'").fetchall()[0][0]
    if prefixes:
        t.info(f"{label}: h's prefixes {conn.execute('SELECT shard, rows FROM h_prefix').fetchall()}")
    # More rows into the hot shard: the writer resumes from the prefix and writes the next.
    writer = connect(path)
    with writer:
        for d in hot_docs(2400, 3500):
            writer.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps(d),))
    want = conn.execute(GROUP_BY).fetchall()
    t.check(f"{label}: h equals GROUP BY after more rows", conn.execute(HOT).fetchall() == [row[:4] for row in want])
    t.check(f"{label}: the writer's too", writer.execute(HOT).fetchall() == [row[:4] for row in want])
    writer.close()
    conn.execute("SELECT shard_rollup_refresh('r')").fetchall()
    t.check(f"{label}: after a full refresh too", conn.execute(ROLLUP).fetchall() == want)
    t.check(f"{label}: h after a full refresh too", conn.execute(HOT).fetchall() == [row[:4] for row in want])
    built = conn.execute("SELECT count(*) FROM r_built").fetchall()[0][0] if conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE name = 'r_built'").fetchall()[0][0] else 0
    conn.close()
    return built


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    t = Tally()
    t.info(f"seed {seed}")
    with tempfile.TemporaryDirectory() as folder:
        base = os.path.join(folder, "base.db")
        build_base(base)
        for op in ("refresh", "writes", "hot"):
            for round_ in range(2 if args.quick else 5):
                path = os.path.join(folder, f"{op}-{round_}.db")
                for suffix in ("", "-wal"):
                    if os.path.exists(base + suffix):
                        shutil.copy(base + suffix, path + suffix)
                kill_at = rng.randint(1, {"refresh": 110, "writes": 1150, "hot": 1600}[op])
                p = spawn(SELF, [path, op, kill_at])
                out, err = p.communicate(timeout=600)
                killed = p.returncode == -9
                t.info(f"{op} round {round_}: kill at progress call {kill_at}, "
                       f"{'killed' if killed else 'finished'}, {out.decode().count('T ')} commits")
                if not killed and p.returncode != 0:
                    t.check(f"{op} round {round_}: child", False, err.decode()[-500:])
                    continue
                built = check(t, path, f"{op} round {round_}")
                t.info(f"{built} shards built after the full refresh")
    print(f"{t.passed} passed, {t.failed} failed")
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    main()
