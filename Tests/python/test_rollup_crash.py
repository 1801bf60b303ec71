"""Crash safety of rollup partials (docs/rollups.md): a process SIGKILLed while it
builds partials, by shard_rollup_refresh or by upkeep during writes, leaves answers
exact after a restart.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_rollup_crash.py [--quick] [--seed N]

A base WAL database holds `ev USING shards(partition = day, time = '$.ts')` with
20 days of January 2025 and a rollup over it:

    r USING shards_rollup(source = ev, bucket = '1 day', group = '$.k',
                          measure = 'n: count', measure = 's: sum($.v)', measure = 'u: distinct($.u)')

Operations, each in a child process (this file, `--child`) that SIGKILLs itself
from an SQLite progress handler after a random number of VM steps:

    refresh: SELECT shard_rollup_refresh('r')
    writes:  days 21 to 25 inserted 300 rows a transaction (upkeep builds partials
             as it goes), printing `T n` after each commit.

After each kill the parent reopens and checks: integrity_check is ok; the rollup
equals GROUP BY over the collection (n, s; u exact below 256 distinct values);
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


def docs(day_from, day_to):
    rng = random.Random(day_from)
    out = []
    for d in range(day_from, day_to):
        for i in range(PER_DAY):
            out.append({"ts": T0 + d * DAY + i * 280_000, "k": f"k{i % 5}", "v": rng.randint(0, 99), "u": rng.randint(0, 60)})
    return out


def build_base(path):
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(partition = day, time = '$.ts')")
    conn.execute("CREATE VIRTUAL TABLE r USING shards_rollup(source = ev, bucket = '1 day', group = '$.k', "
                 "measure = 'n: count', measure = 's: sum($.v)', measure = 'u: distinct($.u)')")
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
        rows = docs(20, 25)
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
    conn.execute("SELECT shard_rollup_refresh('r')").fetchall()
    t.check(f"{label}: after a full refresh too", conn.execute(ROLLUP).fetchall() == want)
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
        for op in ("refresh", "writes"):
            for round_ in range(2 if args.quick else 5):
                path = os.path.join(folder, f"{op}-{round_}.db")
                for suffix in ("", "-wal"):
                    if os.path.exists(base + suffix):
                        shutil.copy(base + suffix, path + suffix)
                kill_at = rng.randint(1, 110 if op == "refresh" else 1150)
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
