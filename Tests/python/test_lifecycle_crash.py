"""Crash safety of shard_archive, shard_compress and shard_drop, with real processes
killed at random moments inside them.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_lifecycle_crash.py [--quick] [--seed N]

A base WAL database is built once: a collection
`ev USING shards(time = '$.ts', max_rows = 2000, index = '$.k', merge = none)` holding 60,000
documents (each with a unique "seq") over January..June 2025, about 30 shards,
with January already archived into `cold.db` and February compressed. For each
operation, with BEFORE = 2025-06-01,

    SELECT shard_archive('ev', BEFORE, 'cold.db')   -- March..May (the same archive file)
    SELECT shard_compress('ev', BEFORE)              -- March..May
    SELECT shard_drop('ev', BEFORE)                  -- January..May (archived, compressed, plain)

each run copies the base files into a folder of its own and starts a child (this
same file, `--child ...`, apsw with the extension loaded) that prints `G` right
before it calls the function, `D ...` once it returned, and then waits with its
connection open. The child is SIGKILLed:

- by the parent, a random delay after `G` (delays spread from 0 to 1.25x the
  operation's measured duration: early, mid-way and after it returned), or
- by itself, from an SQLite progress handler on its connection after a random
  number of VM steps (spread over the operation's whole length, measured first),
  or in the commit hook of each commit of its connection (before SQLite writes
  it), at the progress call just after it, and (first commit) just before it.

A first, uninterrupted run (killed after `D`) measures the duration, the step
count and where the commits fall, and gives the reference state. After every
kill the parent reopens and checks:

- the child reached the call and died of SIGKILL;
- PRAGMA integrity_check is ok on the main file, and on the archive file;
- the collection reads: archived shards come from the archive file, read through
  the extension before anything else opens that file, so a journal a killed
  shard_archive left there must not make them unreadable;
- every seq is present exactly once, in the shard it was in before; for
  shard_drop the rows of each dropped shard are all there or all gone, the shards
  it must keep are whole, and (README: one transaction) all the dropped shards
  are gone or none;
- the catalog matches the shards: shard_list rows per shard equal
  `SELECT shard, count(*) FROM ev GROUP BY shard`, and nothing is counted outside it;
- the states are consistent: a hot/sealed shard has its table in the main file
  and no block table; an archived one names the file, whose copy of its table
  holds its rows; a compressed one has its block table (holding its rows) and no
  plain table; no shard table or block table belongs to no catalog row; and the
  operation's shards all reached their new state or none did (one catalog
  transaction);
- running the same operation again completes, returns the rows of the shards
  the killed run had not finished, and leaves exactly the reference state:
  shard_list, every (seq, id, shard), the main file's tables, the archive's
  tables and row counts, integrity ok. Leftovers a crash may leave for later (a
  retired shard, an archived shard's table still in the main file) must be gone.

Prints one line per check and a final `N passed, M failed`; exits 1 on failure.
Random choices come from one seed, printed first; `--seed` replays a run.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import apsw

from harness import Tally, connect, kill_at_progress, read_lines, spawn

SELF = os.path.abspath(__file__)

BASE_TS = 1735689600000          # 2025-01-01T00:00:00Z
END_TS = 1751328000000           # 2025-07-01T00:00:00Z
BEFORE = "2025-06-01"
BEFORE_MS = 1748736000000        # 2025-06-01T00:00:00Z
COLD = "cold.db"

OPS = {
    "archive": f"SELECT shard_archive('ev', '{BEFORE}', '{COLD}')",
    "compress": f"SELECT shard_compress('ev', '{BEFORE}')",
    "drop": f"SELECT shard_drop('ev', '{BEFORE}')",
}
# VM steps between progress-handler calls in the children (kill granularity).
NSTEPS = {"archive": 200, "compress": 200, "drop": 20}


# --------------------------------------------------------------------------- child

def child_op(db, op, steps_every, kill_at, kill_commit):
    """Prints G, runs the operation, prints `D <result> <progress calls> <ms>` and
    waits (connection open) to be killed. kill_at > 0: SIGKILLs itself from the
    progress handler at that call; kill_commit > 0: from the commit hook of that
    commit of its connection (before SQLite writes it). With a progress handler it
    prints `C <progress calls>` at each commit."""
    conn = connect(db)
    conn.execute("SELECT shard, rows FROM shard_list('ev')").fetchall()   # catalog loaded, like a live process
    calls, commits = [0], [0]
    if steps_every:
        calls = kill_at_progress(conn, steps_every, kill_at)

        def commit():
            commits[0] += 1
            if commits[0] == kill_commit:
                os.kill(os.getpid(), signal.SIGKILL)
            sys.stdout.write(f"C {calls[0]}\n")
            return False
        conn.set_commit_hook(commit)
    sys.stdout.write("G\n")
    sys.stdout.flush()
    t0 = time.perf_counter()
    result = conn.execute(OPS[op]).fetchall()[0][0]
    ms = (time.perf_counter() - t0) * 1000
    sys.stdout.write(f"D {result} {calls[0]} {ms:.3f}\n")
    sys.stdout.flush()
    sys.stdin.readline()


# --------------------------------------------------------------------------- parent side

T = Tally()


def build_base(folder, n, rng):
    """The base database: n docs over Jan..Jun 2025, January archived, February compressed."""
    os.makedirs(folder)
    path = os.path.join(folder, "ev.db")
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchall()[0][0] == "wal"
    # Shards as they split (merged tables under these functions: Tests/ShardExtTests/MergeTests).
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = 2000, index = '$.k', merge = none)")
    times = sorted(rng.randrange(BASE_TS, END_TS) for _ in range(n))
    docs = [{"ts": t, "k": f"k{i % 13}", "seq": i, "pad": "x" * rng.randrange(20, 120)}
            for i, t in enumerate(times)]
    conn.execute("BEGIN")
    for i in range(0, n, 10000):
        conn.execute("INSERT INTO ev(doc) SELECT value FROM json_each(?)", (json.dumps(docs[i:i + 10000]),))
    conn.execute("COMMIT")
    conn.execute(f"SELECT shard_archive('ev', '2025-02-01', '{COLD}')").fetchall()
    conn.execute("SELECT shard_compress('ev', '2025-03-01')").fetchall()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    base = {
        "rows": {r[0]: (r[1], r[2]) for r in conn.execute("SELECT json_extract(doc, '$.seq'), id, shard FROM ev")},
        "shards": {r[0]: r[1:] for r in conn.execute(
            "SELECT key, tbl, state, file, rows, period_end FROM ev_shards")},
    }
    conn.close()
    return base


def victims(base, op):
    """Shard keys the operation acts on, from the base catalog."""
    out = []
    for key, (tbl, state, file, rows, end) in base["shards"].items():
        if end is None or end > BEFORE_MS or state in ("retired", "retired-compressed"):
            continue
        if op != "drop" and (state != "hot" or file is not None):
            continue
        out.append(key)
    return sorted(out)


def run_child(db, op, mode, value):
    """mode 'timer': the parent kills `value` ms after G (None: after D);
    mode 'steps': the child kills itself at progress call `value` (0: never, the
    parent kills it after D); mode 'commit': in the commit hook of its `value`th
    commit. Returns a dict describing the run."""
    steps_every = NSTEPS[op] if mode in ("steps", "commit") else 0
    kill_at = value if mode == "steps" else 0
    kill_commit = value if mode == "commit" else 0
    p = spawn(SELF, ["op", db, op, steps_every, kill_at, kill_commit], stdin=True)
    lines, got_g = [], threading.Event()
    reader = threading.Thread(target=read_lines, args=(p.stdout, lines, got_g), daemon=True)
    reader.start()
    got_g.wait(60)
    started = "G" in lines
    if started:
        if mode == "timer" and value is not None:
            time.sleep(value / 1000)
        elif value in (None, 0):
            deadline = time.monotonic() + 60
            while not any(l.startswith("D ") for l in lines) and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                pass
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait()
    reader.join()
    err = p.stderr.read().decode(errors="replace")
    p.stdin.close()
    done = [l for l in lines if l.startswith("D ")]
    out = {"started": started, "rc": p.returncode, "err": err, "done": bool(done),
           "commits": [int(l.split()[1]) for l in lines if l.startswith("C ")]}
    if done:
        _, result, calls, ms = done[0].split()
        out.update(result=int(result), calls=int(calls), ms=float(ms))
    return out


def table_names(conn):
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}


def archive_tables(path):
    """{table: row count} of an archive file; opened read-write, so a hot journal
    is rolled back first (after the collection was read through the extension)."""
    conn = apsw.Connection(path)
    integrity = conn.execute("PRAGMA integrity_check").fetchall()
    tables = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall():
        tables[name] = conn.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
    conn.close()
    return integrity, tables


def inspect(folder, base, op, vics):
    """Everything checked after a kill, or after the rerun. Returns (problems by
    category, facts)."""
    db = os.path.join(folder, "ev.db")
    cold = os.path.join(folder, COLD)
    journal = cold + "-journal"
    hot_journal = os.path.exists(journal) and os.path.getsize(journal) > 0
    p = {k: [] for k in ("integrity", "read", "seqs", "catalog", "states", "atomic")}
    facts = {"hot_journal": hot_journal}
    c = connect(db)
    integrity = c.execute("PRAGMA integrity_check").fetchall()
    if integrity != [("ok",)]:
        p["integrity"].append(f"main file: {integrity[:3]}")

    # The collection, read through the extension before anything else opens the archive.
    rows = None
    try:
        rows = c.execute("SELECT json_extract(doc, '$.seq'), id, shard FROM ev").fetchall()
    except apsw.Error as e:
        p["read"].append(f"SELECT ... FROM ev: {type(e).__name__}: {e}"
                         + (f" (a journal is left in {COLD})" if hot_journal else ""))
    try:
        listed = {r[0]: r[1:] for r in c.execute(
            "SELECT shard, rows, state, file, period_start, period_end, min_id, max_id, min_ts, max_ts "
            "FROM shard_list('ev')")}
    except apsw.Error as e:
        p["read"].append(f"shard_list('ev'): {type(e).__name__}: {e}")
        listed = None
    try:
        grouped = dict(c.execute("SELECT shard, count(*) FROM ev GROUP BY shard").fetchall())
    except apsw.Error as e:
        grouped = None
        if not p["read"]:
            p["read"].append(f"GROUP BY shard: {type(e).__name__}: {e}")

    # Every seq once, in the shard it was in before.
    full = {}
    for seq, (_, key) in base["rows"].items():
        full[key] = full.get(key, 0) + 1
    if rows is not None:
        seen = {}
        for seq, rid, key in rows:
            seen.setdefault(seq, []).append((rid, key))
        dup = [s for s, v in seen.items() if len(v) > 1]
        moved = [s for s, v in seen.items() if s in base["rows"] and v[0] != base["rows"][s]]
        extra = [s for s in seen if s not in base["rows"]]
        if dup:
            p["seqs"].append(f"{len(dup)} seqs twice, e.g. {sorted(dup)[:3]}")
        if moved:
            p["seqs"].append(f"{len(moved)} seqs with another id or shard, e.g. {sorted(moved)[:3]}")
        if extra:
            p["seqs"].append(f"{len(extra)} unknown seqs")
        per_shard = {}
        for seq, (rid, key) in base["rows"].items():
            if seq in seen:
                per_shard[key] = per_shard.get(key, 0) + 1
        if op == "drop":
            for key, n in full.items():
                have = per_shard.get(key, 0)
                if have not in (0, n):
                    p["seqs"].append(f"{key}: {have} of its {n} rows")
                elif have == 0 and key not in vics:
                    p["seqs"].append(f"{key} (not to be dropped): all {n} rows gone")
            gone = [k for k in vics if per_shard.get(k, 0) == 0]
            if gone and len(gone) != len(vics):
                p["atomic"].append(f"rows of {len(gone)} of the {len(vics)} shards to drop are gone "
                                   f"(e.g. {gone[:2]}), the others are there")
        else:
            missing = [s for s in base["rows"] if s not in seen]
            if missing:
                p["seqs"].append(f"{len(missing)} of {len(base['rows'])} seqs missing, e.g. {sorted(missing)[:3]}"
                                 f" (shards {sorted({base['rows'][s][1] for s in missing})[:3]})")
        facts["rows"] = sorted(rows)

    # Catalog counters against the rows.
    if listed is not None and grouped is not None:
        for key, n in grouped.items():
            if key not in listed:
                p["catalog"].append(f"{key}: {n} rows in a shard shard_list does not show")
            elif listed[key][0] != n:
                p["catalog"].append(f"{key}: shard_list rows {listed[key][0]}, GROUP BY counts {n}")
        for key, v in listed.items():
            if key not in grouped and v[0] != 0:
                p["catalog"].append(f"{key}: shard_list rows {v[0]}, no row reads back")
    facts["listed"] = listed

    # States against the tables.
    cat = {r[0]: r[1:] for r in c.execute("SELECT key, tbl, state, file, rows, num FROM ev_shards")}
    main_tables = table_names(c)
    blocks = {}
    for key, (tbl, state, file, nrows, num) in cat.items():
        if state == "compressed" and tbl + "-z" in main_tables:
            blocks[key] = c.execute(f'SELECT coalesce(sum(rows), 0) FROM "{tbl}-z"').fetchall()[0][0]
    c.close()
    arch_integrity, arch = (None, {})
    if os.path.exists(cold):
        arch_integrity, arch = archive_tables(cold)
        if arch_integrity != [("ok",)]:
            p["integrity"].append(f"{COLD}: {arch_integrity[:3]}")
    leftovers = []
    owned = set()
    for key, (tbl, state, file, nrows, num) in cat.items():
        owned |= {tbl, tbl + "-z"}
        if state == "hot":
            if file is not None:
                p["states"].append(f"{key}: hot with file {file}")
            if tbl not in main_tables:
                p["states"].append(f"{key}: hot, but its table {tbl} is not in the main file")
            if tbl + "-z" in main_tables:
                p["states"].append(f"{key}: hot, but a block table {tbl}-z exists")
        elif state == "archived":
            if file != COLD:
                p["states"].append(f"{key}: archived with file {file!r}")
            elif f"{tbl}@{num}" not in arch:
                p["states"].append(f"{key}: archived, but {COLD} has no table {tbl}@{num}")
            elif arch[f"{tbl}@{num}"] != nrows:
                p["states"].append(f"{key}: archived with {nrows} rows, {COLD} holds {arch[f'{tbl}@{num}']}")
            if tbl + "-z" in main_tables:
                p["states"].append(f"{key}: archived, but a block table {tbl}-z exists")
            if tbl in main_tables:
                leftovers.append(f"{key}: archived, its table still in the main file")
        elif state == "compressed":
            if file is not None:
                p["states"].append(f"{key}: compressed with file {file}")
            if tbl in main_tables:
                p["states"].append(f"{key}: compressed, but its plain table is still there")
            if tbl + "-z" not in main_tables:
                p["states"].append(f"{key}: compressed, but it has no block table")
            elif blocks[key] != nrows:
                p["states"].append(f"{key}: compressed with {nrows} rows, its blocks hold {blocks[key]}")
        elif state in ("retired", "retired-compressed"):
            leftovers.append(f"{key}: retired, table not dropped yet")
            if listed is not None and key in listed:
                p["states"].append(f"{key}: retired, but shard_list shows it")
        else:
            p["states"].append(f"{key}: unknown state {state!r}")
    orphans = sorted(t for t in main_tables
                     if t.startswith("ev_") and t not in ("ev_shards", "ev_config") and t not in owned)
    if orphans:
        p["states"].append(f"tables that belong to no catalog row: {orphans[:4]}")
    if listed is not None:
        for key in listed:
            if key not in cat:
                p["states"].append(f"{key}: in shard_list, not in ev_shards")
    # Which of the operation's shards reached their new state.
    reached = []
    for key in vics:
        row = cat.get(key)
        if op == "archive":
            ok = row is not None and row[1] == "archived" and row[2] == COLD
        elif op == "compress":
            ok = row is not None and row[1] == "compressed"
        else:
            ok = row is None or row[1] in ("retired", "retired-compressed")
        if ok:
            reached.append(key)
    if reached and len(reached) != len(vics):
        p["atomic"].append(f"{len(reached)} of the {len(vics)} shards reached the new state")
    facts["reached"] = len(reached)
    facts["pending"] = sum(base["shards"][k][3] for k in vics if k not in reached)
    facts["leftovers"] = leftovers
    facts["main_tables"] = sorted(main_tables)
    facts["archive"] = {t: n for t, n in arch.items()}
    # An archive holds a shard's copy as <table>@<number>.
    facts["copies"] = sum(1 for k in vics if any(t.startswith(base["shards"][k][0] + "@") for t in arch))
    return p, facts


def reference_of(facts):
    return {k: facts.get(k) for k in ("listed", "rows", "main_tables", "archive")}


def rerun(folder, op):
    c = connect(os.path.join(folder, "ev.db"))
    try:
        return c.execute(OPS[op]).fetchall()[0][0], None
    except apsw.Error as e:
        return None, f"{type(e).__name__}: {e}"
    finally:
        c.close()


def fresh_copy(base_dir, tmp, name):
    folder = os.path.join(tmp, name)
    shutil.copytree(base_dir, folder)
    return folder


def scenario(op, base_dir, base, tmp, timer_kills, step_kills, boundary_commits, rng):
    vics = victims(base, op)
    total = sum(base["shards"][k][3] for k in vics)
    label = f"{op}"
    cats = ("started", "integrity", "read", "seqs", "catalog", "states", "atomic",
            "rerun", "same", "leftovers")
    fails = {k: [] for k in cats}
    summary = {"before": 0, "during": 0, "after": 0}
    runs = [0]

    def one(tag, mode, value, reference):
        runs[0] += 1
        folder = fresh_copy(base_dir, tmp, f"{op}_{runs[0]}")
        r = run_child(os.path.join(folder, "ev.db"), op, mode, value)
        if not r["started"] or r["rc"] != -signal.SIGKILL:
            fails["started"].append(f"{tag}: child rc={r['rc']} {r['err'].strip()[-300:]}")
        if r["done"] and r["result"] != total:
            fails["started"].append(f"{tag}: the operation returned {r['result']}, want {total}")
        p, facts = inspect(folder, base, op, vics)
        for k, v in p.items():
            fails[k].extend(f"{tag}: {x}" for x in v)
        when = "after" if r["done"] else ("before" if facts["reached"] == 0 and not facts["leftovers"] else "during")
        summary[when] += 1
        result, err = rerun(folder, op)
        if err:
            fails["rerun"].append(f"{tag}: {err}")
        elif result != facts["pending"]:
            fails["rerun"].append(f"{tag}: the rerun returned {result}, want {facts['pending']} "
                                  f"(rows of the shards the killed run left)")
        p2, after = inspect(folder, base, op, vics)
        for k, v in p2.items():
            fails["same"].extend(f"{tag}: after the rerun: {x}" for x in v)
        if after["leftovers"]:
            fails["leftovers"].append(f"{tag}: after the rerun " + "; ".join(after["leftovers"][:3])
                                      + (f" (+{len(after['leftovers']) - 3})" if len(after["leftovers"]) > 3 else ""))
        if after["reached"] != len(vics):
            fails["same"].append(f"{tag}: after the rerun {after['reached']} of {len(vics)} shards in the new state")
        ref = reference_of(after)
        if reference is not None and ref != reference:
            diff = [k for k in ref if ref[k] != reference[k]]
            detail = []
            for k in diff:
                a, b = ref[k], reference[k]
                if isinstance(a, list) and isinstance(b, list):
                    detail.append(f"{k}: +{sorted(set(map(str, a)) - set(map(str, b)))[:3]} "
                                  f"-{sorted(set(map(str, b)) - set(map(str, a)))[:3]}")
                elif isinstance(a, dict) and isinstance(b, dict):
                    ks = sorted(k2 for k2 in set(a) | set(b) if a.get(k2) != b.get(k2))
                    detail.append(f"{k}: {[(k2, b.get(k2), a.get(k2)) for k2 in ks[:3]]}")
                else:
                    detail.append(k)
            fails["same"].append(f"{tag}: after the rerun, differs from the uninterrupted run in " + "; ".join(detail))
        T.info(f"{label} {tag}: {when}{' (returned ' + str(r['result']) + ')' if r['done'] else ''}; "
               f"{facts['reached']} of {len(vics)} shards in the new state"
               + (f", {len(facts['leftovers'])} leftovers" if facts["leftovers"] else "")
               + (f", {facts['copies']} copied into {COLD}" if op == "archive" else "")
               + (", a journal left in " + COLD if facts["hot_journal"] else "")
               + (f"; problems: {sum(len(v) for v in p.values())}" if any(p.values()) else "")
               + f"; rerun returned {result if err is None else err}")
        shutil.rmtree(folder, ignore_errors=True)
        return r, ref

    # An uninterrupted run (killed once it returned, with a progress handler that
    # only counts): the duration, the step count, its commits, the reference state.
    cal, reference = one("uninterrupted, killed after it returned", "steps", 0, None)
    if not cal["done"]:
        T.check(f"{label}: an uninterrupted run completes", False, cal["err"].strip()[-400:])
        return
    duration, calls, boundaries = cal["ms"], cal["calls"], cal["commits"]
    T.info(f"{label}: {len(vics)} shards, {total} rows; takes {duration:.1f} ms, "
           f"{calls} progress calls of {NSTEPS[op]} VM steps, commits at calls {boundaries}")
    span = duration * 1.25
    for i in range(timer_kills):
        d = rng.uniform(i * span / timer_kills, (i + 1) * span / timer_kills)
        one(f"kill {d:.1f} ms after G", "timer", d, reference)
    for i in range(step_kills):
        if calls < 2:
            break
        k = rng.randint(1 + i * (calls - 1) // step_kills, max(1 + i * (calls - 1) // step_kills,
                                                               (i + 1) * (calls - 1) // step_kills))
        one(f"kill at progress call {k} of {calls}", "steps", k, reference)
    # Around each commit of the child's connection: inside its commit hook (not
    # written yet) and at the first progress call after it; before the first one
    # also at the last progress call (for shard_archive: after the archive file's
    # own commit, before the catalog's).
    extra = 0
    for j, c in enumerate(boundaries[:boundary_commits], 1):
        if j == 1 and c - 1 >= 1:
            one(f"kill at progress call {c - 1} of {calls} (just before commit 1)", "steps", c - 1, reference)
            extra += 1
        one(f"kill in the commit hook of commit {j} (at call {c})", "commit", j, reference)
        extra += 1
        if c + 1 <= calls:
            one(f"kill at progress call {c + 1} of {calls} (just after commit {j})", "steps", c + 1, reference)
            extra += 1
    n = 1 + timer_kills + step_kills + extra
    T.check(f"{label}: the child reached the call and died of SIGKILL each run ({n} runs: "
            f"{summary['before']} killed before any catalog change, {summary['during']} during, {summary['after']} after)",
            not fails["started"], "; ".join(fails["started"][:4]))
    T.check(f"{label}: PRAGMA integrity_check ok on the main file and {COLD} after every kill",
            not fails["integrity"], "; ".join(fails["integrity"][:4]))
    T.check(f"{label}: the collection and shard_list read after every kill", not fails["read"],
            "; ".join(fails["read"][:3]) + (f" (+{len(fails['read']) - 3})" if len(fails["read"]) > 3 else ""))
    what = ("every seq once, in its shard; each shard's rows all there or all gone, kept shards whole"
            if op == "drop" else "every seq present exactly once, in its shard")
    T.check(f"{label}: {what}", not fails["seqs"], "; ".join(fails["seqs"][:4]))
    T.check(f"{label}: shard_list rows per shard equal GROUP BY shard counts", not fails["catalog"],
            "; ".join(fails["catalog"][:4]))
    T.check(f"{label}: states consistent (hot: table; archived: file holding it; compressed: blocks; no orphan tables)",
            not fails["states"], "; ".join(fails["states"][:4]))
    T.check(f"{label}: all of the operation's shards changed or none (one transaction)",
            not fails["atomic"], "; ".join(fails["atomic"][:4]))
    T.check(f"{label}: rerun completes and returns the rows the killed run left", not fails["rerun"],
            "; ".join(fails["rerun"][:4]))
    T.check(f"{label}: after the rerun, the same state as an uninterrupted run, all checks ok",
            not fails["same"], "; ".join(fails["same"][:4]))
    T.check(f"{label}: after the rerun, nothing left for later (retired shards, archived tables in the main file)",
            not fails["leftovers"], "; ".join(fails["leftovers"][:4])
            + (f" (+{len(fails['leftovers']) - 4} runs)" if len(fails["leftovers"]) > 4 else ""))


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer kills and rows")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", choices=sorted(OPS), action="append", help="run only these operations")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "op":
            child_op(rest[0], rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
        return 0

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    print(f"seed {seed}{' (quick)' if args.quick else ''}; replay with --seed {seed}")
    rng = random.Random(seed)
    t0 = time.monotonic()
    n = 30000 if args.quick else 60000
    timer_kills, step_kills, boundary_commits = (2, 1, 1) if args.quick else (4, 3, 3)
    tmp = tempfile.mkdtemp(prefix="shards-lifecycle-")
    try:
        base_dir = os.path.join(tmp, "base")
        base = build_base(base_dir, n, rng)
        states = {}
        for tbl, state, file, rows, end in base["shards"].values():
            states[state] = states.get(state, 0) + 1
        T.info(f"base: {n} docs, {len(base['shards'])} shards {states}, {BEFORE} cuts at {BEFORE_MS}")
        for op in ("archive", "compress", "drop"):
            if args.only and op not in args.only:
                continue
            scenario(op, base_dir, base, tmp, timer_kills, step_kills, boundary_commits, rng)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"time {time.monotonic() - t0:.1f} s, seed {seed}")
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed else 0


if __name__ == "__main__":
    sys.exit(main())
