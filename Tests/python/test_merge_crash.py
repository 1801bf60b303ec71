"""Crash safety of merging finished shards (docs/collections.md, "Merging finished shards"), with real processes killed at
random moments: inside shard_merge, and inside writes that merge as they go.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_merge_crash.py [--quick] [--seed N]

A base WAL database is built once with two collections of hourly shards, each
document carrying a unique "seq":

    ev USING shards(partition = hour, time = '$.ts', index = '$.k', merge = none)
        -- three days of January 2025, unmerged
    au USING shards(partition = hour, time = '$.ts', index = '$.k')
        -- two days, loaded with merge = auto: day 1 merged, day 2's hours waiting

Operations, each in a child process (this file, `--child`) that prints `G` before
it starts and is SIGKILLed by the parent after a random delay, or by itself from
an SQLite progress handler after a random number of VM steps:

    merge: SELECT shard_merge('ev', '2025-01-03')     -- days 1 and 2 into their days
    auto:  day 3 inserted into `au` 200 rows a transaction; each first write of a
           new hour merges day 2's hours (and summarizes) in steps. The child prints
           `T n` after each commit.

After each kill the parent reopens and checks: integrity_check is ok; every seq
is there at most once, with the id it had in the reference (ids never change);
for `merge` every seq is there, for `auto` exactly the committed transactions'
rows are (all of a transaction or none); the catalog matches the rows
(shard_list rows per shard = the rows the collection returns for it); every live
shard's table exists; every other shard-named table is the emptied table of a
merged shard. Then the operation runs again to the end, and the result must
equal the uninterrupted reference run: shard_list and every (seq, id, shard).

Prints one line per check and a final `N passed, M failed`; exits 1 on failure.
"""
import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time

from harness import Tally, connect, copy_base, kill_at_progress, run_killed

SELF = os.path.abspath(__file__)
DAY = 86_400_000
T0 = 1735689600000  # 2025-01-01
ROWS_PER_HOUR = 40
BATCH = 200


def docs_for(day_from, day_to, seq0):
    out, seq = [], seq0
    for h in range(day_from * 24, day_to * 24):
        for i in range(ROWS_PER_HOUR):
            out.append({"ts": T0 + h * 3_600_000 + i * 1000, "k": f"k{seq % 7}", "seq": seq})
            seq += 1
    return out


def insert(conn, name, docs):
    for i in range(0, len(docs), BATCH):
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {name}(doc) SELECT value FROM json_each(?)", (json.dumps(docs[i:i + BATCH]),))
        conn.execute("COMMIT")
        yield i // BATCH + 1


# --------------------------------------------------------------------------- child

def child(db, op, steps_every, kill_at):
    conn = connect(db)
    for name in ("ev", "au"):
        conn.execute(f"SELECT count(*) FROM shard_list('{name}')").fetchall()
    calls = kill_at_progress(conn, steps_every, kill_at) if steps_every else [0]
    sys.stdout.write("G\n")
    sys.stdout.flush()
    t0 = time.perf_counter()
    if op == "merge":
        result = conn.execute("SELECT shard_merge('ev', '2025-01-03')").fetchall()[0][0]
    else:
        result = 0
        for n in insert(conn, "au", docs_for(2, 3, 1_000_000)):
            sys.stdout.write(f"T {n}\n")
            sys.stdout.flush()
            result = n
    sys.stdout.write(f"D {result} {calls[0]} {(time.perf_counter() - t0) * 1000:.3f}\n")
    sys.stdout.flush()
    sys.stdin.readline()


# --------------------------------------------------------------------------- parent

T = Tally()


def build_base(folder):
    os.makedirs(folder)
    path = os.path.join(folder, "m.db")
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchall()[0][0] == "wal"
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(partition = hour, time = '$.ts', index = '$.k', merge = none)")
    conn.execute("CREATE VIRTUAL TABLE au USING shards(partition = hour, time = '$.ts', index = '$.k')")
    for _ in insert(conn, "ev", docs_for(0, 3, 0)):
        pass
    for _ in insert(conn, "au", docs_for(0, 2, 0)):
        pass
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    return path


def run_child(db, op, steps_every=0, kill_at=0, delay=None):
    """Returns (output lines, returncode)."""
    return run_killed(SELF, [db, op, steps_every, kill_at], delay, done_within=300, exit_within=120)


def state(db, name):
    conn = connect(db)
    rows = conn.execute(f"SELECT json_extract(doc, '$.seq'), id, shard FROM {name} ORDER BY 1, 2").fetchall()
    listing = conn.execute(f"SELECT shard, tbl, rows, state FROM shard_list('{name}') ORDER BY shard").fetchall()
    counts = dict(conn.execute(f"SELECT shard, count(*) FROM {name} GROUP BY shard").fetchall())
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    live = {r[1] for r in listing}
    merged = {r[0] for r in conn.execute(f"SELECT tbl FROM {name}_shards WHERE merged_into IS NOT NULL")}
    ok_integrity = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    empty_spares = all(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] == 0 for t in merged & tables)
    conn.close()
    return {"rows": rows, "listing": listing, "counts": counts, "tables": tables, "live": live,
            "merged": merged, "integrity": ok_integrity, "empty_spares": empty_spares}


def check_after_kill(label, st, ref_ids, name, wanted):
    """wanted: the seq sets that may be there (a kill between COMMIT and the child's
    report leaves one more transaction than reported)."""
    T.check(f"{label}: integrity", st["integrity"])
    seqs = [r[0] for r in st["rows"]]
    T.check(f"{label}: each seq once", len(seqs) == len(set(seqs)))
    T.check(f"{label}: rows of committed work, all or none", set(seqs) in wanted,
            f"{len(set(seqs))} vs {[len(w) for w in wanted]}")
    T.check(f"{label}: ids unchanged", all(ref_ids.get(s, i) == i for s, i, _ in st["rows"]))
    T.check(f"{label}: catalog counts = rows", {r[0]: r[2] for r in st["listing"] if r[2]} == st["counts"])
    T.check(f"{label}: every live shard has its table", st["live"] <= st["tables"])
    prefix = name + "_2"
    stray = {t for t in st["tables"] if t.startswith(prefix)} - st["live"] - st["merged"]
    T.check(f"{label}: no table outside the catalog", not stray, str(sorted(stray))[:200])
    T.check(f"{label}: merged shards' tables left are empty", st["empty_spares"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=4)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    if args.child:
        db, op, steps, kill_at = args.child
        child(db, op, int(steps), int(kill_at))
        return
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}")
    work = tempfile.mkdtemp(prefix="merge-crash-")
    try:
        base = build_base(os.path.join(work, "base"))
        conn = connect(base)
        base_ids = {"ev": dict(conn.execute("SELECT json_extract(doc, '$.seq'), id FROM ev")),
                    "au": dict(conn.execute("SELECT json_extract(doc, '$.seq'), id FROM au"))}
        conn.close()
        runs = 4 if args.quick else 10
        for op, name in (("merge", "ev"), ("auto", "au")):
            ref_db = copy_base(base, os.path.join(work, f"ref-{op}"))
            lines, _ = run_child(ref_db, op, steps_every=100, kill_at=0)
            done = [l for l in lines if l.startswith("D ")]
            if not T.check(f"{op}: reference run completes", bool(done), str(lines[-3:])):
                continue
            _, calls, ms = done[0].split()[1:]
            ref = state(ref_db, name)
            ref_ids = dict((s, i) for s, i, _ in ref["rows"])
            T.check(f"{op}: reference keeps the base ids", all(ref_ids[s] == i for s, i in base_ids[name].items()))
            if op == "merge":
                T.check("merge: reference merged days 1 and 2", sum(1 for r in ref["listing"] if r[0].endswith(":000")) == 2)
            else:
                T.check("auto: reference merged day 2", any(r[0] == "au:2025:01:02:000" for r in ref["listing"]))
            for k in range(runs):
                folder = os.path.join(work, f"{op}-{k}")
                db = copy_base(base, folder)
                if k % 2 == 0:
                    lines, rc = run_child(db, op, delay=rng.uniform(0, float(ms) / 1000 * 1.1))
                    how = "timer"
                else:
                    lines, rc = run_child(db, op, steps_every=100, kill_at=rng.randrange(1, int(calls) + 2))
                    how = "progress"
                label = f"{op} run {k} ({how})"
                T.check(f"{label}: killed", rc == -signal.SIGKILL, str(rc))
                st = state(db, name)
                if op == "merge":
                    wanted = [set(base_ids["ev"])]
                else:
                    reported = max([int(l.split()[1]) for l in lines if l.startswith("T ")] + [0])
                    day3 = [d["seq"] for d in docs_for(2, 3, 1_000_000)]
                    wanted = [set(base_ids["au"]) | set(day3[:n * BATCH]) for n in (reported, reported + 1)]
                    present = {r[0] for r in st["rows"]}
                    committed = reported + (1 if present == wanted[1] else 0)
                check_after_kill(label, st, ref_ids, name, wanted)
                # Then the same work again, to the end: the reference state.
                if op == "merge":
                    conn = connect(db)
                    conn.execute("SELECT shard_merge('ev', '2025-01-03')").fetchall()
                    conn.close()
                else:
                    conn = connect(db)
                    rest = docs_for(2, 3, 1_000_000)[committed * BATCH:]
                    for _ in insert(conn, "au", rest):
                        pass
                    conn.close()
                again = state(db, name)
                same_rows = [(s, i) for s, i, _ in again["rows"]] == [(s, i) for s, i, _ in ref["rows"]] if op == "merge" \
                    else {s for s, _, _ in again["rows"]} == {s for s, _, _ in ref["rows"]}
                T.check(f"{label}: finished again, same rows and ids", same_rows)
                if op == "merge":
                    T.check(f"{label}: finished again, same shards", [r[0::2] for r in again["listing"]] == [r[0::2] for r in ref["listing"]])
                T.check(f"{label}: finished again, catalog counts = rows",
                        {r[0]: r[2] for r in again["listing"] if r[2]} == again["counts"])
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    sys.exit(1 if T.failed else 0)


if __name__ == "__main__":
    main()
