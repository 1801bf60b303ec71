"""Durability and concurrency of writes, with real processes killed at random.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_durability.py [--quick] [--seed N]

Every scenario uses a temporary WAL database and child processes that run this
same file in a child mode (`--child ...`), each with its own apsw connection and
its own copy of the extension:

1. crash, buffer = 0: a child inserts documents one by one in autocommit (and, in
   a second variant, in batches of shard_insert inside BEGIN/COMMIT) and prints
   each acknowledged sequence number; the parent SIGKILLs it at a random moment,
   reopens the database and checks integrity, that every acknowledged document is
   there exactly once, that the catalog counters match the shards, and that the
   next insert works.
2. crash, buffer = 100 (docs/durability-and-safety.md): at most 100 acknowledged rows may be lost.
3. concurrent writers: 2, then 4 processes insert into one collection at once
   (autocommit and batched transactions); afterwards every row is there once,
   shards split correctly and the catalog matches the shards. SQLITE_BUSY that
   escapes busy_timeout must reach the writer as apsw.BusyError (it retries the
   statement, or the whole transaction). Writers that bulk-load with
   `SELECT shard_insert(...) FROM json_each(?)` do it, as the README says, inside
   BEGIN IMMEDIATE ... COMMIT, and on BusyError roll back and retry the whole
   transaction; no row may be lost or written twice. Checked with 4 writers of
   which two bulk-load that way, and deterministically with another connection
   holding the write lock: BEGIN IMMEDIATE waits for it (busy_timeout) or fails
   with BusyError at BEGIN, never leaves a half-written batch; a lock attempt in
   the middle of the batch does not break it up. The documented autocommit
   behaviour (each shard_insert row is its own statement: BusyError mid-way keeps
   the rows before it, each once) is checked too.
4. rollback in the middle of a bulk load: nothing of it remains, catalog and
   schema included (ROLLBACK and ROLLBACK TO). A statement failing on its last
   document: `INSERT ... SELECT` leaves nothing of itself (autocommit, and inside
   BEGIN..COMMIT); `SELECT shard_insert(...)` in autocommit keeps the documents
   before the bad one, each once, with a consistent catalog (README: each row
   commits on its own), and inside BEGIN the caller's ROLLBACK leaves nothing.

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

from harness import Tally, connect, read_lines, spawn

SELF = os.path.abspath(__file__)

BASE_TS = 1735689600000          # 2025-01-01T00:00:00Z
HOUR = 3_600_000
RUN_STRIDE = 1_000_000           # seq = run * RUN_STRIDE + i


def doc(seq, i, writer=None):
    d = {"ts": BASE_TS + i * (HOUR // 2), "k": f"k{seq % 7}", "seq": seq}
    if writer is not None:
        d["w"] = writer
    return json.dumps(d)


# --------------------------------------------------------------------------- children

def child_insert(db, run, batch):
    """Inserts until killed. batch == 0: one INSERT per document in autocommit, ack
    per row. batch > 0: BEGIN; SELECT shard_insert(...) FROM json_each(?); COMMIT,
    ack per committed batch ('A first last')."""
    conn = connect(db)
    # A killed process loses nothing the OS already has: NORMAL in WAL keeps every
    # commit across SIGKILL, and lets the child write fast enough to split shards.
    conn.execute("PRAGMA synchronous = NORMAL")
    out = sys.stdout
    out.write("R\n")
    out.flush()
    i = 0
    while True:
        if batch == 0:
            seq = run * RUN_STRIDE + i
            conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(seq, i),))
            out.write(f"{seq}\n")
            out.flush()
            i += 1
        else:
            docs = [json.loads(doc(run * RUN_STRIDE + j, j)) for j in range(i, i + batch)]
            conn.execute("BEGIN")
            conn.execute("SELECT shard_insert('ev', value) FROM json_each(?)", (json.dumps(docs),)).fetchall()
            conn.execute("COMMIT")
            out.write(f"A {run * RUN_STRIDE + i} {run * RUN_STRIDE + i + batch - 1}\n")
            out.flush()
            i += batch


def child_close_lost(db):
    """Buffers 3 acknowledged documents, lets another connection drop their shard
    table, closes, and prints what SQLite's error log received (one line each)."""
    apsw.config(apsw.SQLITE_CONFIG_LOG, lambda code, message: print(f"L {code} {message}", flush=True))
    conn = connect(db)
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', buffer = 100, flush_ms = 100000)")
    conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(0, 0),))
    conn.execute("SELECT shard_flush('ev')")
    table = conn.execute("SELECT tbl FROM shard_list('ev')").fetchall()[0][0]
    for i in range(1, 4):
        conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i),))
    other = apsw.Connection(db)
    other.execute(f'DROP TABLE "{table}"')
    other.close()
    conn.close()
    print("closed", flush=True)


def close_lost(tmp):
    """docs/durability-and-safety.md: a close-time write that fails is reported in SQLite's log
    with the number of documents lost and why."""
    path = os.path.join(tmp, "close_lost.db")
    p = spawn(SELF, ["close_lost", path])
    out, err = p.communicate(timeout=60)
    lines = out.decode().splitlines()
    logged = [l for l in lines if l.startswith("L ") and "shards:" in l]
    T.check("close: a failed close-time write is logged with the number of documents lost and why",
            p.returncode == 0 and "closed" in lines and len(logged) == 1
            and logged[0].startswith("L 1 shards: 3 buffered documents of 'ev' (ids ")
            and "were lost at close: no such table" in logged[0],
            f"rc={p.returncode} log={logged!r} err={err.decode()[-300:]!r}")


def child_writer(db, writer, rows, mode, result_file):
    """One of several concurrent writers: waits for 'go' on stdin, inserts `rows`
    documents, retries on apsw.BusyError, writes {seq: id} and the retry count."""
    conn = connect(db)
    sys.stdout.write("R\n")
    sys.stdout.flush()
    sys.stdin.readline()
    ids, retries, busy_in_commit, partial = {}, 0, 0, 0
    kinds = {}

    def note(where, e):
        code = {5: "BUSY", 261: "BUSY_RECOVERY", 517: "BUSY_SNAPSHOT", 773: "BUSY_TIMEOUT"}.get(
            e.extendedresult, str(e.extendedresult))
        kinds[f"{where}:{code}"] = kinds.get(f"{where}:{code}", 0) + 1
    i = 0
    while i < rows:
        if mode == "auto":
            seq = i
            while True:
                try:
                    conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(seq, (seq * 7 + writer * 13) % 3000, writer),))
                    break
                except apsw.BusyError as e:
                    retries += 1
                    note("autocommit INSERT", e)
            ids[seq] = conn.last_insert_rowid()
            i += 1
            continue
        if mode == "bulk":
            # The documented atomic bulk load: BEGIN IMMEDIATE; SELECT shard_insert(...)
            # FROM json_each(?); COMMIT, rolled back and retried whole on BusyError.
            n = min(100, rows - i)
            seqs = list(range(i, i + n))
            arr = "[" + ",".join(doc(s, (s * 7 + writer * 13) % 3000, writer) for s in seqs) + "]"
            mine = ("SELECT count(*) FROM ev WHERE json_extract(doc, '$.w') = ? AND "
                    "json_extract(doc, '$.seq') BETWEEN ? AND ?")
            while True:
                had = conn.execute(mine, (writer, i, i + n - 1)).fetchall()[0][0]
                where = "BEGIN IMMEDIATE"
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    where = "BEGIN IMMEDIATE; SELECT shard_insert"
                    rowids = [r[0] for r in conn.execute(
                        "SELECT shard_insert('ev', value) FROM json_each(?) ORDER BY key", (arr,))]
                    where = "BEGIN IMMEDIATE; ...; COMMIT"
                    conn.execute("COMMIT")
                    break
                except apsw.BusyError as e:
                    retries += 1
                    note(where, e)
                    if not conn.getautocommit():
                        conn.execute("ROLLBACK")
                    if conn.execute(mine, (writer, i, i + n - 1)).fetchall()[0][0] != had:
                        partial += 1
                        k = "BusyError, then ROLLBACK, left part of the batch committed"
                        kinds[k] = kinds.get(k, 0) + 1
            ids.update(zip(seqs, rowids))
            i += n
            continue
        n = min(100, rows - i)
        seqs = list(range(i, i + n))
        docs = [doc(s, (s * 7 + writer * 13) % 3000, writer) for s in seqs]
        use_function = (i // 100) % 2 == 1
        while True:
            got = {}
            first = True
            try:
                # The README: shard_insert batches begin with BEGIN IMMEDIATE, so that
                # SQLite waits for busy_timeout instead of failing the upgrade at once.
                conn.execute("BEGIN IMMEDIATE" if use_function else "BEGIN")
                if use_function:
                    arr = "[" + ",".join(docs) + "]"
                    rowids = [r[0] for r in conn.execute(
                        "SELECT shard_insert('ev', value) FROM json_each(?) ORDER BY key", (arr,))]
                    got = dict(zip(seqs, rowids))
                else:
                    for s, d in zip(seqs, docs):
                        conn.execute("INSERT INTO ev(doc) VALUES (?)", (d,))
                        got[s] = conn.last_insert_rowid()
                        first = False
            except apsw.BusyError as e:
                retries += 1
                note("BEGIN IMMEDIATE; SELECT shard_insert" if use_function
                     else "BEGIN; INSERT" + (" (first)" if first else " (later)"), e)
                if not conn.getautocommit():
                    conn.execute("ROLLBACK")
                continue
            while True:
                try:
                    conn.execute("COMMIT")
                    break
                except apsw.BusyError as e:
                    retries += 1
                    busy_in_commit += 1
                    note("COMMIT", e)
            break
        ids.update(got)
        i += n
    conn.close()
    with open(result_file, "w") as f:
        json.dump({"ids": ids, "retries": retries, "busy_in_commit": busy_in_commit, "kinds": kinds,
                   "partial": partial}, f)
    print("DONE", retries)


# --------------------------------------------------------------------------- parent side

T = Tally()


def new_db(tmp, name):
    path = os.path.join(tmp, name)
    conn = connect(path)
    mode = conn.execute("PRAGMA journal_mode = wal").fetchall()[0][0]
    assert mode == "wal", mode
    return path, conn


def shard_state(conn, name="ev"):
    """Catalog rows vs. actual rows per shard; returns (problems, shards)."""
    problems = []
    cat = {r[0]: r[1:] for r in conn.execute(
        f"SELECT shard, tbl, rows, min_id, max_id FROM shard_list('{name}')")}
    actual = {r[0]: r[1:] for r in conn.execute(
        f"SELECT shard, count(*), min(id), max(id) FROM {name} GROUP BY shard")}
    for key, (tbl, rows, min_id, max_id) in sorted(cat.items()):
        n, lo, hi = actual.get(key, (0, None, None))
        if rows != n:
            problems.append(f"{key}: catalog rows={rows}, table holds {n}")
        elif n and (min_id != lo or max_id != hi):
            problems.append(f"{key}: catalog ids {min_id}..{max_id}, table {lo}..{hi}")
    for key in actual:
        if key not in cat:
            problems.append(f"{key}: rows in a shard the catalog does not list")
    return problems, cat


def schema_problems(conn, name="ev"):
    """Shard tables in the catalog vs. in sqlite_schema, and duplicate keys."""
    problems = []
    rows = conn.execute(f"SELECT key, tbl, num, merged_into FROM {name}_shards").fetchall()
    keys = [r[0] for r in rows]
    if len(set(keys)) != len(keys):
        problems.append("duplicate shard keys")
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB ? AND name NOT IN (?, ?)",
        (f"{name}_[0-9]*", f"{name}_shards", f"{name}_config"))}
    # A merged shard's row maps its number to the table holding its rows; its own
    # table, emptied, may still be there until it can be dropped.
    listed = {r[1] for r in rows if r[3] is None}
    emptied = {r[1] for r in rows if r[3] is not None}
    if tables - listed - emptied:
        problems.append(f"shard tables missing from the catalog: {sorted(tables - listed - emptied)[:5]}")
    if listed - tables:
        problems.append(f"catalog shards without a table: {sorted(listed - tables)[:5]}")
    for t in tables & emptied:
        if conn.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]:
            problems.append(f"the table of merged shard {t} still holds rows")
    # Ids carry the number of the shard they were written to: the table's own, or one merged into it.
    bad_num = conn.execute(
        f"""SELECT count(*) FROM {name} e JOIN {name}_shards s ON s.key = e.shard
            WHERE (e.id >> 40) != s.num
              AND NOT EXISTS (SELECT 1 FROM {name}_shards m WHERE m.num = (e.id >> 40) AND m.merged_into = s.num)"""
    ).fetchall()[0][0]
    if bad_num:
        problems.append(f"{bad_num} ids whose high bits are not their shard's number")
    return problems


def kill_run(db, run, batch, delay_ms):
    """Starts an inserting child, kills it delay_ms after it is ready; returns
    (acknowledged seqs, highest seq it may have written, stderr)."""
    p = spawn(SELF, ["insert", db, run, batch])
    lines = []
    reader = threading.Thread(target=read_lines, args=(p.stdout, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not lines and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay_ms / 1000)
    p.send_signal(signal.SIGKILL)
    p.wait()
    reader.join()
    err = p.stderr.read().decode(errors="replace")
    acked = []
    for line in lines:
        if line == "R":
            continue
        if line.startswith("A "):
            _, a, b = line.split()
            acked.extend(range(int(a), int(b) + 1))
        else:
            acked.append(int(line))
    started = "R" in lines
    return acked, started, err, p.returncode


def crash_scenario(tmp, label, options, batch, runs, rng, lost_allowed):
    name = f"crash[{label}]"
    path, conn = new_db(tmp, f"crash_{label}.db")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE ev USING shards({options})")
    except apsw.SQLError as e:
        conn.close()
        return str(e)
    conn.close()
    fails = {k: [] for k in ("started", "integrity", "acked", "dups", "ids", "prefix",
                             "counters", "schema", "next")}
    total_acked = total_lost = 0
    max_lost = 0
    for run in range(1, runs + 1):
        delay = rng.randint(50, 800)
        acked, started, err, rc = kill_run(path, run, batch, delay)
        tag = f"run {run} (kill at {delay} ms)"
        if not started or rc != -signal.SIGKILL:
            fails["started"].append(f"{tag}: child rc={rc} {err.strip()[-300:]}")
            continue
        c = connect(path)
        integrity = c.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            fails["integrity"].append(f"{tag}: {integrity[:3]}")
        seqs = [r[0] for r in c.execute(
            "SELECT json_extract(doc, '$.seq') FROM ev WHERE json_extract(doc, '$.seq') BETWEEN ? AND ?",
            (run * RUN_STRIDE, run * RUN_STRIDE + RUN_STRIDE - 1))]
        present = set(seqs)
        if len(seqs) != len(present):
            fails["dups"].append(f"{tag}: {len(seqs) - len(present)} duplicated seqs")
        all_seqs = [r[0] for r in c.execute("SELECT json_extract(doc, '$.seq') FROM ev WHERE json_extract(doc, '$.seq') IS NOT NULL")]
        if len(all_seqs) != len(set(all_seqs)):
            fails["dups"].append(f"{tag}: duplicated seqs across runs")
        missing = [s for s in acked if s not in present]
        total_acked += len(acked)
        total_lost += len(missing)
        max_lost = max(max_lost, len(missing))
        if len(missing) > lost_allowed:
            fails["acked"].append(f"{tag}: {len(missing)} of {len(acked)} acknowledged rows missing "
                                  f"(allowed {lost_allowed}), e.g. {missing[:5]}")
        # One writer, in order: the rows kept are the first n it inserted, nothing after a gap.
        n = len(present)
        if present != set(range(run * RUN_STRIDE, run * RUN_STRIDE + n)):
            fails["prefix"].append(f"{tag}: the {n} rows kept are not seqs 0..{n - 1} of the run")
        if acked and n > len(acked) + max(batch, 1):
            fails["prefix"].append(f"{tag}: {n} rows kept but only {len(acked)} acknowledged")
        cnt, distinct = c.execute("SELECT count(*), count(DISTINCT id) FROM ev").fetchall()[0]
        if cnt != distinct:
            fails["ids"].append(f"{tag}: {cnt} rows, {distinct} distinct ids")
        problems, cat = shard_state(c)
        listed = sum(v[1] for v in cat.values())
        if listed != cnt or problems:
            fails["counters"].append(f"{tag}: shard_list rows sum {listed}, count(*) {cnt}; " + "; ".join(problems[:4]))
        sp = schema_problems(c)
        if sp:
            fails["schema"].append(f"{tag}: " + "; ".join(sp))
        # The next insert works and is counted.
        try:
            c.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": BASE_TS, "k": "probe", "probe": run}),))
            if lost_allowed:
                c.execute("SELECT shard_flush('ev')").fetchall()
            cnt2 = c.execute("SELECT count(*) FROM ev").fetchall()[0][0]
            listed2 = c.execute("SELECT sum(rows) FROM shard_list('ev')").fetchall()[0][0]
            if cnt2 != cnt + 1 or listed2 != cnt2:
                fails["next"].append(f"{tag}: after one more insert count {cnt} -> {cnt2}, shard_list sum {listed2}")
        except apsw.Error as e:
            fails["next"].append(f"{tag}: {type(e).__name__}: {e}")
        c.close()
        T.info(f"{name} {tag}: {len(acked)} acknowledged, {n} kept, {len(missing)} acknowledged lost, "
               f"{len(cat)} shards")
    T.check(f"{name}: child started and was killed each run", not fails["started"], "; ".join(fails["started"]))
    T.check(f"{name}: PRAGMA integrity_check ok after every kill", not fails["integrity"], "; ".join(fails["integrity"]))
    what = "every acknowledged row present" if not lost_allowed else f"at most {lost_allowed} acknowledged rows lost per kill"
    T.check(f"{name}: {what}", not fails["acked"],
            "; ".join(fails["acked"]) or f"{total_acked} acknowledged over {runs} kills, {total_lost} lost, at most {max_lost} in one")
    T.check(f"{name}: no seq twice", not fails["dups"], "; ".join(fails["dups"]))
    T.check(f"{name}: rows kept are a prefix of what the child inserted", not fails["prefix"], "; ".join(fails["prefix"]))
    T.check(f"{name}: ids unique", not fails["ids"], "; ".join(fails["ids"]))
    T.check(f"{name}: catalog counters (shard_list rows, min/max id) match the shards", not fails["counters"],
            "; ".join(fails["counters"]))
    T.check(f"{name}: catalog and shard tables agree, ids carry their shard number", not fails["schema"],
            "; ".join(fails["schema"]))
    T.check(f"{name}: the next insert works and is counted", not fails["next"], "; ".join(fails["next"]))
    return None


def buffer_semantics(tmp):
    """The write buffer's basics (docs/durability-and-safety.md), so that the buffered crash test is not vacuous."""
    path, a = new_db(tmp, "buffer_semantics.db")
    a.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = 500, index = '$.k', "
              "buffer = 100, flush_ms = 100000)")
    b = connect(path)
    count = lambda c: c.execute("SELECT count(*) FROM ev").fetchall()[0][0]
    for i in range(10):
        a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i),))
    seen = count(b)
    flushed = a.execute("SELECT shard_flush('ev')").fetchall()[0][0]
    after = count(b)
    T.check("buffer: 10 autocommit inserts stay buffered; shard_flush returns 10; then visible",
            (seen, flushed, after) == (0, 10, 10),
            f"other connection saw {seen}, shard_flush returned {flushed}, then other saw {after}")
    for i in range(10, 15):
        a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i),))
    own = count(a)
    T.check("buffer: a connection reads its own writes", own == 15 and count(b) == 15, f"own count {own}")
    a.execute("BEGIN")
    for i in range(15, 18):
        a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i),))
    a.execute("COMMIT")
    T.check("buffer: COMMIT of an explicit transaction flushes", count(b) == 18, f"other sees {count(b)}")
    for i in range(18, 118):
        a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i),))
    n = count(b)
    T.check("buffer: reaching buffer = 100 flushes", n >= 100, f"other sees {n} of 118")
    a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(118, 118),))
    a.close()
    n = count(b)
    problems, _ = shard_state(b)
    T.check("buffer: closing the connection flushes; counters match", n == 119 and not problems,
            f"other sees {n} of 119; " + "; ".join(problems[:3]))
    b.close()


def concurrent(tmp, writers, rows, max_rows, timeout, modes=("auto", "batch")):
    name = f"concurrent[{writers} writers x {rows}{', ' + '/'.join(modes) if 'bulk' in modes else ''}]"
    path, conn = new_db(tmp, f"concurrent_{writers}_{'_'.join(modes)}.db")
    # Splitting under concurrent writers, shards left as they split (merges: test_merge_crash.py).
    conn.execute(f"CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = {max_rows}, index = '$.k', merge = none)")
    conn.close()
    procs = []
    for w in range(writers):
        mode = modes[w % len(modes)]
        res = os.path.join(tmp, f"writer_{writers}_{'_'.join(modes)}_{w}.json")
        procs.append((w, mode, res, spawn(SELF, ["writer", path, w, rows, mode, res], stdin=True)))
    for _, _, _, p in procs:
        assert p.stdout.readline().strip() == b"R", p.stderr.read()
    t0 = time.monotonic()
    for _, _, _, p in procs:
        p.stdin.write(b"go\n")
        p.stdin.flush()
    results, bad = {}, []
    for w, mode, res, p in procs:
        try:
            out, err = p.communicate(timeout=max(1, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            bad.append(f"writer {w} ({mode}) timed out")
            continue
        if p.returncode != 0:
            bad.append(f"writer {w} ({mode}) rc={p.returncode}: {err.decode(errors='replace').strip()[-400:]}")
            continue
        with open(res) as f:
            results[w] = json.load(f)
    elapsed = time.monotonic() - t0
    T.check(f"{name}: every writer finished without an error other than BusyError", not bad, "; ".join(bad))
    retries = {w: r["retries"] for w, r in results.items()}
    kinds = {}
    for r in results.values():
        for k, v in r["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    T.info(f"{name}: {elapsed:.1f} s; BusyError retries per writer {retries}; by statement: "
           + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"))
    if "bulk" in modes:
        partial = {w: r["partial"] for w, r in results.items() if r["partial"]}
        T.check(f"{name}: a bulk load that hit BusyError left nothing after its ROLLBACK", not partial,
                f"batches partly committed per writer {partial}")
    c = connect(path)
    integrity = c.execute("PRAGMA integrity_check").fetchall()
    T.check(f"{name}: integrity_check ok", integrity == [("ok",)], str(integrity[:3]))
    total = writers * rows
    cnt, distinct = c.execute("SELECT count(*), count(DISTINCT id) FROM ev").fetchall()[0]
    T.check(f"{name}: count == {total}", cnt == total, f"count {cnt}")
    pairs = c.execute("SELECT json_extract(doc, '$.w'), json_extract(doc, '$.seq'), id FROM ev").fetchall()
    seen = {}
    for w, s, i in pairs:
        seen.setdefault((w, s), []).append(i)
    dup = [k for k, v in seen.items() if len(v) > 1]
    miss = [(w, s) for w in range(writers) for s in range(rows) if (w, s) not in seen]
    T.check(f"{name}: every (writer, seq) present exactly once", not dup and not miss,
            f"{len(miss)} missing e.g. {miss[:3]}, {len(dup)} twice e.g. {dup[:3]}")
    T.check(f"{name}: ids unique", cnt == distinct, f"{cnt} rows, {distinct} distinct ids")
    wrong = [(w, s) for w, r in results.items() for s, i in r["ids"].items() if seen.get((w, int(s))) != [i]]
    T.check(f"{name}: the id each writer got back is the row it inserted", not wrong,
            f"{len(wrong)} mismatches e.g. {wrong[:3]}")
    shards = c.execute("SELECT key, category, period, seq, tbl FROM ev_shards").fetchall()
    keys = [s[0] for s in shards]
    T.check(f"{name}: no two shards with the same key or table",
            len(set(keys)) == len(keys) and len({s[4] for s in shards}) == len(shards))
    actual = dict(c.execute("SELECT shard, count(*) FROM ev GROUP BY shard").fetchall())
    lines = {}
    for key, cat, period, seq, _ in shards:
        lines.setdefault((cat, period), []).append((seq, key))
    over, underfull, gaps = [], [], []
    for line, members in lines.items():
        members.sort()
        if [m[0] for m in members] != list(range(1, len(members) + 1)):
            gaps.append(f"{line}: seqs {[m[0] for m in members]}")
        for seq, key in members[:-1]:
            if actual.get(key, 0) > max_rows:
                over.append(f"{key}={actual.get(key, 0)}")
            elif actual.get(key, 0) != max_rows:
                underfull.append(f"{key}={actual.get(key, 0)}")
        last = members[-1][1]
        if actual.get(last, 0) > max_rows:
            over.append(f"{last}={actual.get(last, 0)} (newest)")
    T.check(f"{name}: shards split ({len(shards)} shards over {len(lines)} periods)", len(shards) > len(lines))
    T.check(f"{name}: no shard holds more than max_rows = {max_rows}", not over, ", ".join(over[:6]))
    T.check(f"{name}: every shard but the newest of its period is full", not underfull, ", ".join(underfull[:6]))
    T.check(f"{name}: shard seqs of each period are 1..n", not gaps, "; ".join(gaps[:3]))
    problems, cat = shard_state(c)
    T.check(f"{name}: catalog counters match counts per shard", not problems, "; ".join(problems[:5]))
    sp = schema_problems(c)
    T.check(f"{name}: catalog and shard tables agree, ids carry their shard number", not sp, "; ".join(sp))
    c.close()


def busy_mid_bulk(tmp):
    """Deterministic, another connection holding or taking the write lock around a
    bulk `SELECT shard_insert(...) FROM json_each(?)` of 100 documents:
    - the README's way, BEGIN IMMEDIATE ... COMMIT: while the other connection holds
      the lock, BEGIN IMMEDIATE waits for busy_timeout and fails with BusyError at
      BEGIN, with no transaction left open and nothing written; when the lock is
      released within busy_timeout it waits and then the batch commits whole; a lock
      attempt in the middle of the batch fails (BusyError for the other connection),
      which meanwhile reads none of the batch, and the batch commits whole.
    - autocommit (documented per-row behaviour): the lock taken at the 51st document
      fails the statement with BusyError at once (no busy_timeout wait: a SELECT
      that upgrades to a write), and the 50 documents before it stay, each once,
      with a consistent catalog."""
    counter = [0]

    def fresh(busy_ms):
        counter[0] += 1
        path, a = new_db(tmp, f"busy_mid_bulk_{counter[0]}.db")
        a.execute(f"PRAGMA busy_timeout = {busy_ms}")
        a.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = 200, index = '$.k')")
        a.execute("INSERT INTO ev(doc) VALUES (?)", (doc(0, 0),))
        return path, a, connect(path, busy_ms=200)

    arr = json.dumps([json.loads(doc(1 + i, i)) for i in range(100)])
    bulk = "SELECT shard_insert('ev', value) FROM json_each(?)"
    seqs = lambda c: sorted(r[0] for r in c.execute("SELECT json_extract(doc, '$.seq') FROM ev"))

    def consistent(c):
        problems, _ = shard_state(c)
        return problems + schema_problems(c)

    # 1. The lock is held for longer than busy_timeout: BusyError at BEGIN, nothing
    #    written, no transaction open; the retry after the lock is released commits all.
    path, a, b = fresh(200)
    b.execute("BEGIN IMMEDIATE")
    err, where = None, None
    t0 = time.monotonic()
    try:
        where = "BEGIN IMMEDIATE"
        a.execute("BEGIN IMMEDIATE")
        where = "SELECT shard_insert"
        a.execute(bulk, (arr,)).fetchall()
        where = "COMMIT"
        a.execute("COMMIT")
        where = None
    except apsw.Error as e:
        err = e
    waited = time.monotonic() - t0
    open_after = not a.getautocommit()
    if open_after:
        a.execute("ROLLBACK")
    b.execute("ROLLBACK")
    got = seqs(a)
    T.check("busy: BEGIN IMMEDIATE while another connection holds the write lock: waits busy_timeout, "
            "BusyError at BEGIN, nothing written",
            isinstance(err, apsw.BusyError) and where == "BEGIN IMMEDIATE" and not open_after
            and waited >= 0.15 and got == [0],
            f"error {type(err).__name__ if err else None} at {where}: {err}; waited {waited:.3f} s; "
            f"transaction left open {open_after}; {len(got) - 1} of its 100 rows written")
    a.execute("BEGIN IMMEDIATE")
    a.execute(bulk, (arr,)).fetchall()
    a.execute("COMMIT")
    got, cp = seqs(a), consistent(a)
    T.check("busy: after that BusyError the retried transaction commits all 100 rows once, catalog consistent",
            got == list(range(101)) and not cp, f"{len(got) - 1} of its 100 rows, {len(set(got)) - 1} distinct; " + "; ".join(cp))
    a.close()
    b.close()

    # 2. The lock is released within busy_timeout: BEGIN IMMEDIATE waits, the batch commits whole.
    path, a, b = fresh(10000)
    b.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: b.execute("ROLLBACK"))
    err = None
    t0 = time.monotonic()
    release.start()
    try:
        a.execute("BEGIN IMMEDIATE")
        waited = time.monotonic() - t0
        a.execute(bulk, (arr,)).fetchall()
        a.execute("COMMIT")
    except apsw.Error as e:
        err = e
        waited = time.monotonic() - t0
        if not a.getautocommit():
            a.execute("ROLLBACK")
    release.join()
    got, cp = seqs(a), consistent(a)
    T.check("busy: BEGIN IMMEDIATE waits for a lock released within busy_timeout, then the batch commits whole",
            err is None and waited >= 0.25 and got == list(range(101)) and not cp,
            f"error {type(err).__name__ if err else None}: {err}; waited {waited:.3f} s; "
            f"{len(got) - 1} of its 100 rows, {len(set(got)) - 1} distinct; " + "; ".join(cp))
    a.close()
    b.close()

    # 3. Another connection tries to take the lock at the 51st document of the batch.
    path, a, b = fresh(10000)
    seen = {}

    def lock_at(value, key):
        if key == 50:
            seen["count"] = b.execute("SELECT count(*) FROM ev").fetchall()[0][0]
            try:
                b.execute("BEGIN IMMEDIATE")
                seen["lock"] = "taken"
                b.execute("ROLLBACK")
            except apsw.Error as e:
                seen["lock"] = type(e).__name__
                if not b.getautocommit():
                    b.execute("ROLLBACK")
        return value

    a.create_scalar_function("lock_at", lock_at, 2)
    err = None
    try:
        a.execute("BEGIN IMMEDIATE")
        a.execute("SELECT shard_insert('ev', lock_at(value, key)) FROM json_each(?)", (arr,)).fetchall()
        a.execute("COMMIT")
    except apsw.Error as e:
        err = e
        if not a.getautocommit():
            a.execute("ROLLBACK")
    got, cp = seqs(a), consistent(a)
    other = b.execute("SELECT count(*) FROM ev").fetchall()[0][0]
    T.check("busy: another connection's BEGIN IMMEDIATE mid-way through a BEGIN IMMEDIATE bulk shard_insert "
            "gets BusyError and reads none of it; the batch commits whole",
            err is None and seen == {"count": 1, "lock": "BusyError"} and got == list(range(101))
            and other == 101 and not cp,
            f"error {type(err).__name__ if err else None}: {err}; other connection mid-way {seen}, after {other}; "
            f"{len(got) - 1} of its 100 rows, {len(set(got)) - 1} distinct; " + "; ".join(cp))
    a.close()
    b.close()

    # 4. Autocommit, as documented: each row its own statement; BusyError at once
    #    when the lock is taken mid-way, the rows before it stay.
    path, a, b = fresh(10000)

    def take_at(value, key):
        if key == 50:
            b.execute("BEGIN IMMEDIATE")
        return value

    a.create_scalar_function("take_at", take_at, 2)
    err = None
    t0 = time.monotonic()
    try:
        a.execute("SELECT shard_insert('ev', take_at(value, key)) FROM json_each(?)", (arr,)).fetchall()
    except apsw.Error as e:
        err = e
    waited = time.monotonic() - t0
    b.execute("ROLLBACK")
    got, cp = seqs(a), consistent(a)
    T.check("busy: lock taken at doc 51 of an autocommit bulk shard_insert: BusyError at once, "
            "docs 1..50 stay each once, catalog consistent (documented)",
            isinstance(err, apsw.BusyError) and waited < 5 and got == list(range(51)) and not cp
            and a.getautocommit(),
            f"error {type(err).__name__ if err else None}: {err}; after {waited:.3f} s (busy_timeout 10 s); "
            f"{len(got) - 1} of its rows kept, {len(set(got)) - 1} distinct; " + "; ".join(cp))
    a.close()
    b.close()


def snapshot(conn):
    q = lambda sql: conn.execute(sql).fetchall()
    return {
        "schema": q("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"),
        "shard_list": q("SELECT collection, shard, tbl, period_start, period_end, rows, min_id, max_id, "
                        "min_ts, max_ts, state, file FROM shard_list('ev') ORDER BY shard"),
        # Every column but `changes`, the shards' change stamps: a ROLLBACK TO moves the
        # stamps of the shards it recounts past every value the transaction may have used
        # (ShardInfo.changes), so that a rollup never trusts a partial built in between.
        "ev_shards": q("SELECT key, tbl, num, category, period, seq, period_start, period_end, rows, last_local, "
                       "min_id, max_id, min_ts, max_ts, state, file, part, merged_into, summary FROM ev_shards ORDER BY key"),
        "ev_config": q("SELECT * FROM ev_config ORDER BY key"),
        "rows": q("SELECT id, ts, shard, doc FROM ev ORDER BY id"),
    }


def diff(a, b):
    return ", ".join(f"{k} ({len(a[k])} -> {len(b[k])} rows)" if len(a[k]) != len(b[k]) else k
                     for k in a if a[k] != b[k])


def rollback_scenario(tmp, rng, n):
    """Each check on a fresh database holding 30 rows (a half-full January shard)."""
    counter = [0]

    def fresh():
        counter[0] += 1
        path, conn = new_db(tmp, f"rollback_{counter[0]}.db")
        conn.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = 50, index = '$.k')")
        for i in range(30):
            conn.execute("INSERT INTO ev(doc) VALUES (?)", (doc(i, i * 5),))
        return conn, snapshot(conn)

    # n documents over six months, starting in the existing January shard.
    arr = [json.loads(doc(1000 + i, 0)) | {"ts": BASE_TS + rng.randrange(0, 180 * 24) * HOUR} for i in range(n)]
    arr.sort(key=lambda d: d["ts"])
    good = json.dumps(arr)
    bad = json.dumps(arr + ["not an object"])
    bulk = "SELECT shard_insert('ev', value) FROM json_each(?)"
    insert_select = "INSERT INTO ev(doc) SELECT value FROM json_each(?)"

    conn, before = fresh()
    conn.execute("BEGIN")
    conn.execute(bulk, (good,)).fetchall()
    inside = conn.execute("SELECT count(*), (SELECT count(*) FROM shard_list('ev')) FROM ev").fetchall()[0]
    conn.execute("ROLLBACK")
    after = snapshot(conn)
    T.check(f"rollback: BEGIN; bulk shard_insert of {n} docs ({inside[1]} shards inside); ROLLBACK leaves nothing",
            inside[0] == 30 + n and after == before,
            f"inside the transaction count {inside[0]}; changed after rollback: {diff(before, after)}")
    # The same connection then loads it for real: memory must have followed the rollback.
    conn.execute(bulk, (good,)).fetchall()
    cnt = conn.execute("SELECT count(*) FROM ev").fetchall()[0][0]
    problems, _ = shard_state(conn)
    sp = schema_problems(conn)
    T.check("rollback: afterwards the same bulk load commits with consistent counters",
            cnt == 30 + n and not problems and not sp,
            f"count {cnt} (want {30 + n}); " + "; ".join(problems[:3] + sp))
    conn.close()

    conn, before = fresh()
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT s")
    conn.execute(bulk, (good,)).fetchall()
    conn.execute("ROLLBACK TO s")
    conn.execute("RELEASE s")
    conn.execute("COMMIT")
    after = snapshot(conn)
    T.check("rollback: BEGIN; SAVEPOINT; bulk; ROLLBACK TO; COMMIT leaves nothing", after == before,
            f"changed: {diff(before, after)}")
    conn.close()

    conn, before = fresh()
    err = None
    try:
        conn.execute(insert_select, (bad,)).fetchall()
    except apsw.Error as e:
        err = f"{type(e).__name__}: {e}"
    after = snapshot(conn)
    T.check(f"rollback: autocommit {insert_select} failing on doc {n + 1} of {n + 1} writes nothing",
            err is not None and after == before,
            f"error: {err}; changed: {diff(before, after)}")
    conn.close()

    # Autocommit SELECT shard_insert(...): each document is its own statement and
    # commits on its own (README), so the n documents before the bad one stay.
    conn, before = fresh()
    err = None
    try:
        conn.execute(bulk, (bad,)).fetchall()
    except apsw.Error as e:
        err = f"{type(e).__name__}: {e}"
    after = snapshot(conn)
    # Ids, times and documents stay; the shard column may name the table a merge moved a row to.
    unkeyed = lambda rows: [(r[0], r[1], r[3]) for r in rows]
    old_rows = [r for r in unkeyed(after["rows"]) if r in unkeyed(before["rows"])]
    kept = sorted(r[0] for r in conn.execute(
        "SELECT json_extract(doc, '$.seq') FROM ev WHERE json_extract(doc, '$.seq') >= 1000"))
    problems, _ = shard_state(conn)
    sp = schema_problems(conn)
    T.check(f"rollback: autocommit {bulk} failing on doc {n + 1} of {n + 1} keeps the {n} before it, "
            f"each once, catalog consistent (documented)",
            err is not None and conn.getautocommit() and old_rows == unkeyed(before["rows"])
            and kept == list(range(1000, 1000 + n)) and len(after["rows"]) == 30 + n
            and not problems and not sp,
            f"error: {err}; {len(kept)} of the {n} kept ({len(set(kept))} distinct), "
            f"{len(after['rows'])} rows in all (want {30 + n}), old rows intact {old_rows == unkeyed(before['rows'])}; "
            + "; ".join(problems[:3] + sp))
    conn.close()

    # A failing INSERT ... SELECT inside BEGIN ... COMMIT: the statement is undone,
    # the transaction's other writes stay, and the catalog matches at COMMIT.
    conn, before = fresh()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": BASE_TS, "k": "x"}),))
    err = None
    try:
        conn.execute(insert_select, (bad,)).fetchall()
    except apsw.Error as e:
        err = f"{type(e).__name__}: {e}"
    conn.execute("COMMIT")
    cnt = conn.execute("SELECT count(*) FROM ev WHERE json_extract(doc, '$.seq') >= 1000").fetchall()[0][0]
    total = conn.execute("SELECT count(*) FROM ev").fetchall()[0][0]
    problems, _ = shard_state(conn)
    T.check(f"rollback: in BEGIN..COMMIT a failing INSERT ... SELECT over {n + 1} docs is undone, the rest commits",
            err is not None and cnt == 0 and total == 31 and not problems,
            f"error: {err}; {cnt} rows of the failed statement remain, count {total} (want 31); "
            + "; ".join(problems[:3]))
    conn.close()

    # A failing SELECT shard_insert(...) inside BEGIN: the caller rolls back on the
    # error (README), which leaves nothing; the same connection then loads for real.
    conn, before = fresh()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO ev(doc) VALUES (?)", (json.dumps({"ts": BASE_TS, "k": "x"}),))
    err = None
    try:
        conn.execute(bulk, (bad,)).fetchall()
    except apsw.Error as e:
        err = f"{type(e).__name__}: {e}"
    if not conn.getautocommit():
        conn.execute("ROLLBACK")
    after = snapshot(conn)
    T.check(f"rollback: in BEGIN a failing SELECT shard_insert over {n + 1} docs, then ROLLBACK, leaves nothing",
            err is not None and after == before,
            f"error: {err}; changed after rollback: {diff(before, after)}")
    conn.execute(bulk, (good,)).fetchall()
    cnt = conn.execute("SELECT count(*) FROM ev").fetchall()[0][0]
    problems, _ = shard_state(conn)
    sp = schema_problems(conn)
    T.check("rollback: afterwards the same connection's bulk load commits with consistent counters",
            cnt == 30 + n and not problems and not sp,
            f"count {cnt} (want {30 + n}); " + "; ".join(problems[:3] + sp))
    conn.close()


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer kills and rows")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "insert":
            child_insert(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "close_lost":
            child_close_lost(rest[0])
        elif kind == "writer":
            child_writer(rest[0], int(rest[1]), int(rest[2]), rest[3], rest[4])
        return 0

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    print(f"seed {seed}{' (quick)' if args.quick else ''}; replay with --seed {seed}")
    rng = random.Random(seed)
    t0 = time.monotonic()
    runs = 3 if args.quick else 6
    tmp = tempfile.mkdtemp(prefix="shards-durability-")
    try:
        crash_scenario(tmp, "autocommit", "time = '$.ts', max_rows = 500, index = '$.k'", 0, runs, rng, 0)
        crash_scenario(tmp, "batch 50", "time = '$.ts', max_rows = 500, index = '$.k'", 50, runs, rng, 0)
        refused = crash_scenario(tmp, "buffer 100",
                                 "time = '$.ts', max_rows = 500, index = '$.k', buffer = 100, flush_ms = 100000",
                                 0, runs, rng, 100)
        if refused:
            T.check("crash[buffer 100]: CREATE with buffer = 100, flush_ms = 100000", False, refused)
        else:
            buffer_semantics(tmp)
        close_lost(tmp)
        rows = 600 if args.quick else 3000
        concurrent(tmp, 2, rows, 200, timeout=120)
        concurrent(tmp, 4, rows // 2 if args.quick else rows, 200, timeout=120)
        busy_mid_bulk(tmp)
        # BEGIN IMMEDIATE; SELECT shard_insert(...) FROM json_each(?); COMMIT next to plain writers.
        concurrent(tmp, 4, rows // 2, 200, timeout=120, modes=("auto", "bulk"))
        rollback_scenario(tmp, rng, 400 if args.quick else 1500)
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
