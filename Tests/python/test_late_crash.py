"""Crash safety of late documents (docs/late-documents.md), with real processes
SIGKILLed at random moments: while late documents are written into merged and sealed
periods, and while `shard_merge` folds late rows back.

Run from the repository root after `swift build -c release` (about a minute):

    .venv/bin/python Tests/python/test_late_crash.py [--quick] [--seed N]

A base WAL database holds two collections of daily shards, January to April 2025,
each document carrying a unique "seq":

    lt USING shards(partition = day, time = '$.ts', index = '$.k', index = 'n: $.n integer')
        -- merge = auto: January to March merged into their months
    lm USING shards(partition = day, ..., merge = none)
        -- the same days unmerged, plus late rows already in its sealed days

Operations, each in a child process (this file, `--child`) that prints `G` before it
starts and is SIGKILLed by the parent after a random delay, or by itself from an
SQLite progress handler after a random number of VM steps:

    late:  late documents for random earlier days into `lt`, one autocommit INSERT
           each, every fifth group of 10 in one transaction; `C n` after each commit
           (n = documents committed so far)
    merge: SELECT shard_merge('lm', '2025-04-01')

After each kill: integrity_check is ok; every seq is there at most once, with the
id it had (ids never change); for `late` exactly the committed documents are there
(a kill between COMMIT and the report may leave one more unit); for `merge` every
seq is; the catalog's counts equal the rows; and every indexed value is found as
often through the collection's pushed-down, summary-pruned lookup as by reading
every row (summaries stay true). Then the work runs to the end and the rows must be
those of an uninterrupted run.

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
DAYS = 120          # to 2025-05-01
ROWS_PER_DAY = 12
LATE = 300
GROUP = 10
SCHEMA = "partition = day, time = '$.ts', index = '$.k', index = 'n: $.n integer'"


def base_docs():
    return [{"ts": T0 + d * DAY + i * 3_600_000, "k": f"k{(d * ROWS_PER_DAY + i) % 9}", "n": i, "seq": d * ROWS_PER_DAY + i}
            for d in range(DAYS) for i in range(ROWS_PER_DAY)]


def late_docs(seed0):
    """LATE documents for random days before April 20, with values new to their day."""
    rng = random.Random(seed0)
    return [{"ts": T0 + rng.randrange(0, 109 * DAY), "k": f"late{rng.randrange(40)}", "n": 100 + rng.randrange(500),
             "seq": seed0 + i} for i in range(LATE)]


def units(docs):
    """The committed units of the `late` operation: single documents, every fifth
    group of GROUP documents together."""
    out, i = [], 0
    while i < len(docs):
        n = GROUP if (i // GROUP) % 5 == 4 else 1
        out.append(docs[i:i + n])
        i += n
    return out


def write_late(conn, name, docs):
    done = 0
    for unit in units(docs):
        if len(unit) > 1:
            conn.execute("BEGIN")
        for d in unit:
            conn.execute(f"INSERT INTO {name}(doc) VALUES (?)", (json.dumps(d),))
        if len(unit) > 1:
            conn.execute("COMMIT")
        done += len(unit)
        yield done


# --------------------------------------------------------------------------- child

def child(db, op, steps_every, kill_at):
    conn = connect(db)
    for name in ("lt", "lm"):
        conn.execute(f"SELECT count(*) FROM shard_list('{name}')").fetchall()
    calls = kill_at_progress(conn, steps_every, kill_at) if steps_every else [0]
    sys.stdout.write("G\n")
    sys.stdout.flush()
    t0 = time.perf_counter()
    result = 0
    if op == "merge":
        result = conn.execute("SELECT shard_merge('lm', '2025-04-01')").fetchall()[0][0]
    else:
        for n in write_late(conn, "lt", late_docs(1_000_000)):
            sys.stdout.write(f"C {n}\n")
            sys.stdout.flush()
            result = n
    sys.stdout.write(f"D {result} {calls[0]} {(time.perf_counter() - t0) * 1000:.3f}\n")
    sys.stdout.flush()
    sys.stdin.readline()


# --------------------------------------------------------------------------- parent

T = Tally()


def build_base(folder):
    os.makedirs(folder)
    path = os.path.join(folder, "l.db")
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchall()[0][0] == "wal"
    conn.execute(f"CREATE VIRTUAL TABLE lt USING shards({SCHEMA})")
    conn.execute(f"CREATE VIRTUAL TABLE lm USING shards({SCHEMA}, merge = none)")
    docs = base_docs()
    for name in ("lt", "lm"):
        for i in range(0, len(docs), 200):
            conn.execute("BEGIN")
            conn.execute(f"INSERT INTO {name}(doc) SELECT value FROM json_each(?)", (json.dumps(docs[i:i + 200]),))
            conn.execute("COMMIT")
    # Everything merged that merge = auto would merge by now, and summarized.
    conn.execute("SELECT shard_merge('lt', '2025-04-01')").fetchall()
    # Late rows already in lm's sealed days, for shard_merge to fold back.
    for _ in write_late(conn, "lm", late_docs(2_000_000)):
        pass
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    return path


def run_child(db, op, steps_every=0, kill_at=0, delay=None):
    """Returns (output lines, returncode)."""
    return run_killed(SELF, [db, op, steps_every, kill_at], delay, done_within=120, exit_within=60)


def state(db, name):
    conn = connect(db)
    rows = conn.execute(f"SELECT json_extract(doc, '$.seq'), id FROM {name} ORDER BY 1, 2").fetchall()
    listing = conn.execute(f"SELECT shard, rows FROM shard_list('{name}') ORDER BY shard").fetchall()
    counts = dict(conn.execute(f"SELECT shard, count(*) FROM {name} GROUP BY shard").fetchall())
    # Summaries stay true: every value, looked up through the index columns (pruned by
    # summaries) and by reading every document (never pruned), is found as often.
    pruned_ok = True
    for col, path in (("k", "$.k"), ("n", "$.n")):
        everything = dict(conn.execute(f"SELECT json_extract(doc, '{path}'), count(*) FROM {name} GROUP BY 1").fetchall())
        for value, n in everything.items():
            if conn.execute(f"SELECT count(*) FROM {name} WHERE {col} = ?", (value,)).fetchone()[0] != n:
                pruned_ok = False
    ok_integrity = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    return {"rows": rows, "listing": listing, "counts": counts, "integrity": ok_integrity, "pruned_ok": pruned_ok}


def check_after_kill(label, st, ids, wanted):
    T.check(f"{label}: integrity", st["integrity"])
    seqs = [r[0] for r in st["rows"]]
    T.check(f"{label}: each seq once", len(seqs) == len(set(seqs)))
    T.check(f"{label}: exactly the committed rows", set(seqs) in wanted, f"{len(set(seqs))} vs {[len(w) for w in wanted]}")
    T.check(f"{label}: ids unchanged", all(ids.get(s, i) == i for s, i in st["rows"]))
    T.check(f"{label}: catalog counts = rows", {s: n for s, n in st["listing"] if n} == st["counts"])
    T.check(f"{label}: summaries true (indexed lookups find every row)", st["pruned_ok"])


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
    work = tempfile.mkdtemp(prefix="late-crash-")
    try:
        base = build_base(os.path.join(work, "base"))
        runs = 4 if args.quick else 8
        for op, name in (("late", "lt"), ("merge", "lm")):
            ref_db = copy_base(base, os.path.join(work, f"ref-{op}"))
            base_seqs = {r[0] for r in state(ref_db, name)["rows"]}
            lines, _ = run_child(ref_db, op, steps_every=100, kill_at=0)
            done = [l for l in lines if l.startswith("D ")]
            if not T.check(f"{op}: reference run completes", bool(done), str(lines[-3:])):
                continue
            _, calls, ms = done[0].split()[1:]
            ref = state(ref_db, name)
            ref_ids = dict(ref["rows"])
            if op == "late":
                T.check("late: reference took every late document", len(ref["rows"]) == len(base_seqs) + LATE)
                shards = [s for s, _ in ref["listing"]]
                T.check("late: late documents went to the merged months, not a table each",
                        len(shards) == len(state(base, name)["listing"]), f"{len(shards)} tables")
            else:
                T.check("merge: reference folded the late rows into months",
                        sum(1 for s, _ in ref["listing"] if s.endswith(":000")) == 3)
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
                late = late_docs(1_000_000)
                if op == "merge":
                    wanted = [base_seqs]
                    committed = 0
                else:
                    reported = max([int(l.split()[1]) for l in lines if l.startswith("C ")] + [0])
                    sizes = [len(u) for u in units(late)]
                    ends = [sum(sizes[:j + 1]) for j in range(len(sizes))]
                    following = next((e for e in ends if e > reported), reported)
                    wanted = [base_seqs | {d["seq"] for d in late[:n]} for n in (reported, following)]
                    present = {r[0] for r in st["rows"]}
                    committed = following if present == wanted[1] else reported
                check_after_kill(label, st, ref_ids, wanted)
                conn = connect(db)
                if op == "merge":
                    conn.execute("SELECT shard_merge('lm', '2025-04-01')").fetchall()
                else:
                    for _ in write_late(conn, "lt", late[committed:]):
                        pass
                conn.close()
                again = state(db, name)
                same = {s for s, _ in again["rows"]} == {s for s, _ in ref["rows"]} and len(again["rows"]) == len(ref["rows"])
                if op == "merge":
                    same = same and again["rows"] == ref["rows"]
                T.check(f"{label}: finished again, the reference's rows", same)
                T.check(f"{label}: finished again, catalog counts = rows",
                        {s: n for s, n in again["listing"] if n} == again["counts"])
                T.check(f"{label}: finished again, summaries true", again["pruned_ok"])
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    sys.exit(1 if T.failed else 0)


if __name__ == "__main__":
    main()
