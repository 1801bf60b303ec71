"""shards on a replicated dqlite cluster: three shards-node processes on loopback.

Run from the repository root after `swift build -c release`:

    .venv/bin/python Tests/python/test_cluster.py

Needs libdqlite (the node links it) and the `sqlite3` shell; the cluster is driven
through the wire-protocol client in cluster/dqlite_wire.py. Every node runs on a
free loopback port, in a temporary directory, and is stopped by its pid (SIGKILL
for the crashes, SIGTERM otherwise), also when a check fails.

1. The node's command line: bad flags, an unreachable --join address, a used port
   and a joining node without --join each fail clearly with a non-zero exit.
2. Three nodes; 50,000 events in acknowledged batches of 500 through the leader;
   the leader is SIGKILLed while a batch is in flight and the load carries on
   through the survivors. Every acknowledged batch is there exactly once (and an
   unacknowledged one wholly or not at all), and shard_list agrees with the rows.
3. The killed node restarts from its dir; the current leader is then killed, so
   the restarted node is in the new quorum: nothing is missing, writes go on.
4. Retention, merging, compression and ensure_json_index give the same answers,
   step by step, on the cluster and in a local file (the sqlite3 shell, the same
   system SQLite as the nodes).
5. What would escape replication is refused (also checked first, without a
   cluster, on a Python VFS in apsw) with an error saying why, and the
   node carries on: shard_archive, buffer > 0, a SELECT that writes outside a
   transaction. The `dqlite` shell (go-dqlite) reads and writes the collection.
   A clean stop (SIGTERM) exits 0.

Prints one line per check and `N passed, M failed`; exits 1 on failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "cluster"))
from dqlite_wire import Error  # noqa: E402
from harness import Tally  # noqa: E402
from local import NODE, LocalCluster, free_port  # noqa: E402

LIB = os.path.join(ROOT, ".build", "release", "libShardExt")
BASE_TS = 1735689600000          # 2025-01-01T00:00:00Z
DAY = 86_400_000
EVENTS, BATCH = 50_000, 500


def node(*args, timeout=30):
    """Runs shards-node to its exit: (exit code, output)."""
    p = subprocess.run([NODE, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def command_line(t, workdir, cluster):
    """Start-up errors; `cluster` is running (its node 1 holds a port)."""
    rc, out = node("--id", "2", "--address", "127.0.0.1:1", "--dir", workdir, "--nope", "1")
    t.check("unknown flag: exit 2, named", rc == 2 and "unknown flag --nope" in out, out.strip().splitlines()[0][:80])
    rc, out = node("--id", "0", "--address", "127.0.0.1:9", "--dir", workdir)
    t.check("bad id: exit 2", rc == 2 and "--id must be a positive integer" in out, out.strip().splitlines()[0][:80])
    rc, out = node("--id", "2", "--address", "localhost", "--dir", workdir)
    t.check("bad address: exit 2", rc == 2 and "--address must be IPv4:PORT" in out, out.strip().splitlines()[0][:80])
    rc, out = node("--id", "1", "--address", "127.0.0.1:9", "--dir", workdir, "--join", "127.0.0.1:10")
    t.check("node 1 cannot join: exit 2", rc == 2 and "bootstraps" in out, out.strip().splitlines()[0][:80])
    rc, out = node("--id", "7", "--address", f"127.0.0.1:{free_port()}", "--dir", os.path.join(workdir, "n7"))
    t.check("a new node other than 1 needs --join: exit 1", rc == 1 and "give --join" in out, out.strip()[:90])
    used = cluster.addresses[1]
    rc, out = node("--id", "8", "--address", used, "--dir", os.path.join(workdir, "n8"), "--join", cluster.addresses[2])
    t.check("a used port: exit 1, says so", rc == 1 and f"cannot listen on {used}: Address already in use" in out,
            out.strip()[-90:])
    rc, out = node("--id", "2", "--address", f"127.0.0.1:{free_port()}", "--dir", os.path.join(workdir, "n2"),
                   "--join", cluster.addresses[1])
    t.check("an id already in the cluster at another address: exit 1, says so",
            rc == 1 and "node id 2 is already a member of the cluster at" in out, out.strip()[-90:])
    start = time.time()
    rc, out = node("--id", "9", "--address", f"127.0.0.1:{free_port()}", "--dir", os.path.join(workdir, "n9"),
                   "--join", f"127.0.0.1:{free_port()}")
    t.check("an unreachable --join address: exit 1 within the 10 s it retries, no state left",
            rc == 1 and "cannot join the cluster through" in out and "Connection refused" in out
            and not os.listdir(os.path.join(workdir, "n9")),
            f"{time.time() - start:.1f} s: " + out.strip()[-100:])


def event(seq):
    return {"ts": BASE_TS + seq * 60_000, "type": ("click", "view", "buy")[seq % 3], "batch": seq // BATCH,
            "seq": seq, "user": seq % 97}


def load_with_failover(t, cluster):
    """Loads EVENTS in batches; kills the leader while batch 30 is in flight.
    Returns (acknowledged batches, the killed node's id)."""
    db = cluster.client()
    db.exec("""CREATE VIRTUAL TABLE ev USING shards(partition = day, time = '$.ts', max_rows = 2000,
               index = '$.type', index = '$.batch', index = '$.user')""")
    acked, killed, failovers, timer, outcomes = [], None, 0, None, []
    for b in range(EVENTS // BATCH):
        payload = json.dumps([event(s) for s in range(b * BATCH, (b + 1) * BATCH)], separators=(",", ":"))
        if b == 30:
            leader_id = cluster.leader()[0]
            # SIGKILL lands while this batch is being sent, run and replicated.
            timer = threading.Timer(0.005, cluster.kill, [leader_id])
            timer.start()
            killed = leader_id
        while True:
            try:
                db.exec("INSERT INTO ev(doc) SELECT value FROM json_each(?)", [payload])
                acked.append(b)
                break
            except (OSError, Error) as e:
                if isinstance(e, Error) and not e.not_leader:
                    raise
                # Not acknowledged: find the new leader and see whether the batch made it.
                failovers += 1
                if timer is not None:
                    timer.join()
                db = cluster.client()
                (present,) = db.query("SELECT count(*) FROM ev WHERE batch = ?", [b])[0]
                outcomes.append(f"batch {b} {'had committed' if present else 'had not committed, sent again'}")
                if present == BATCH:
                    acked.append(b)
                    break
                if present != 0:
                    t.check(f"batch {b} after failover: all or nothing", False, f"{present} rows")
                    break
    t.check("the leader was killed mid-load and the load went on through the survivors",
            killed is not None and killed not in cluster.running() and failovers >= 1 and len(acked) == EVENTS // BATCH,
            f"node {killed} killed; {', '.join(outcomes)}; {len(acked)} batches acknowledged")
    return acked, killed


def check_rows(t, db, acked, label, extra=0):
    counts = dict(db.query("SELECT batch, count(*) FROM ev GROUP BY batch"))
    bad = {b: counts.get(b, 0) for b in acked if counts.get(b, 0) != BATCH}
    stray = set(counts) - set(acked) - {-1}
    t.check(f"{label}: every acknowledged batch present exactly once", not bad and not stray,
            f"{len(acked)} batches" if not bad else f"wrong counts {dict(list(bad.items())[:5])}, stray {stray}")
    (total, distinct) = db.query("SELECT count(*), count(DISTINCT json_extract(doc, '$.seq')) FROM ev WHERE batch >= 0")[0]
    t.check(f"{label}: no event twice", total == distinct == len(acked) * BATCH, f"{total} rows, {distinct} distinct")
    listed = dict((s, r) for s, r in db.query("SELECT shard, rows FROM shard_list('ev')"))
    scanned = dict(db.query("SELECT shard, count(*) FROM ev GROUP BY shard"))
    t.check(f"{label}: shard_list agrees with the rows",
            listed == scanned and sum(listed.values()) == total + extra,
            f"{len(listed)} shards, {sum(listed.values())} rows listed")


def restart_then_kill_leader(t, cluster, acked, killed):
    cluster.start(killed)
    t.check("the killed node restarts from its dir", killed in cluster.running(),
            cluster.log(killed).strip().splitlines()[-1][21:])
    # Wait until the restarted node has caught up, then kill the leader: the new
    # quorum is the restarted node and the one other survivor.
    deadline = time.time() + 30
    while time.time() < deadline:
        members = {m[0]: m[2] for m in cluster.client().conn.cluster()}
        if members.get(killed) == 0:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    leader_id = cluster.leader()[0]
    if leader_id == killed:
        # The restarted node leads already: kill the other survivor instead, so the
        # restarted node must serve everything it has from its own log.
        leader_id = next(i for i in cluster.running() if i != killed)
    cluster.kill(leader_id)
    db = cluster.client()
    new_leader = cluster.leader()[0]
    t.check("after the second kill, the quorum includes the restarted node",
            killed in cluster.running() and leader_id not in cluster.running() and new_leader in cluster.running(),
            f"killed node {leader_id}; leader now node {new_leader}; running {cluster.running()}")
    check_rows(t, db, acked, "after restart and a second kill")
    db.exec("INSERT INTO ev(doc) VALUES (?)", [json.dumps({"ts": BASE_TS, "type": "after", "batch": -1})])
    (n,) = db.query("SELECT count(*) FROM ev WHERE type = 'after'")[0]
    t.check("the new quorum takes writes", n == 1)
    return leader_id


def shell(path, sql):
    """Rows of `sql` run by the sqlite3 shell on a local file, with the extension."""
    p = subprocess.run(["sqlite3", "-json", path], input=f".load {LIB}\n{sql}\n", capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0 or p.stderr:
        raise RuntimeError(p.stderr.strip())
    return [tuple(r.values()) for r in json.loads(p.stdout)] if p.stdout.strip() else []


def lifecycle_steps():
    """(kind, sql): exec, query, or write (a SELECT that writes, in BEGIN..COMMIT)."""
    def docs(start_day, days, per_day):
        out = []
        for d in range(days):
            for k in range(per_day):
                out.append({"ts": BASE_TS + (start_day + d) * DAY + k * 3_600_000, "type": ("click", "view")[k % 2],
                            "user": (d * per_day + k) % 13})
        return "'" + json.dumps(out, separators=(",", ":")) + "'"
    listing = "SELECT shard, rows, min_id, max_id, min_ts, max_ts, state FROM shard_list('lc') ORDER BY shard"
    return [
        ("exec", """CREATE VIRTUAL TABLE lc USING shards(partition = month, time = '$.ts', max_rows = 200,
                    index = '$.type', retain = '2 months')"""),
        ("exec", f"INSERT INTO lc(doc) SELECT value FROM json_each({docs(0, 90, 8)})"),   # Jan..Mar 2025
        ("query", listing),
        ("write", "SELECT ensure_json_index('lc', '$.user')"),
        ("query", "SELECT id, ts, shard FROM lc WHERE json_extract(doc, '$.user') = 7 ORDER BY id"),
        # The splits of finished months merge into one table each; ids stay.
        ("write", "SELECT shard_merge('lc', '2025-04-01')"),
        ("query", listing),
        ("query", "SELECT count(*), sum(ts), min(id), max(id), group_concat(DISTINCT shard) FROM lc WHERE type = 'view'"),
        ("write", "SELECT shard_compress('lc', '2025-02-01')"),
        ("query", listing),
        ("query", "SELECT count(*), sum(ts), min(id), max(id) FROM lc WHERE type = 'click'"),
        ("query", "SELECT id, doc FROM lc WHERE ts BETWEEN 1736899200000 AND 1737000000000 ORDER BY ts DESC LIMIT 20"),
        # June: retention drops January and February (ended over 2 months before June 1).
        ("exec", f"INSERT INTO lc(doc) SELECT value FROM json_each({docs(151, 10, 4)})"),
        ("query", listing),
        ("query", "SELECT count(*) FROM lc"),
        ("write", "SELECT shard_drop('lc', '2025-04-30')"),
        ("write", "SELECT shard_drop('lc', '2025-07-01')"),
        ("query", listing),
        ("query", "SELECT shard_key('lc', '2025-08-01'), shard_key('lc', '{\"ts\":\"2025-06-05\"}')"),
    ]


def lifecycle_equivalence(t, cluster, workdir):
    db = cluster.client()
    path = os.path.join(workdir, "local.db")
    mismatches, answers = [], []
    for kind, sql in lifecycle_steps():
        if kind == "exec":
            db.exec(sql)
            got, want = [], shell(path, sql)
        elif kind == "write":
            got, want = db.write_query(sql), shell(path, f"BEGIN; {sql}; COMMIT;")
        else:
            got, want = db.query(sql), shell(path, sql)
        if got != want:
            mismatches.append(f"{sql[:60]}: cluster {got[:3]} vs file {want[:3]}")
        answers.append(got)
    t.check("merging, retention, compression, ensure_json_index and shard_drop: cluster answers = local file, step by step",
            not mismatches, "; ".join(mismatches[:2]) or f"{len(answers)} steps")
    # The steps did something: indexes added, months merged, shards compressed,
    # retention and drops.
    merged = [s[0] for s in answers[6] if s[0].endswith(":000")]
    states = [s[6] for s in answers[9]]
    t.check("... and each step acted", answers[2] and answers[3][0][0] == len(answers[2])
            and answers[5][0][0] > 0 and len(merged) >= 2 and len(answers[6]) < len(answers[2])
            and answers[8][0][0] > 0 and "compressed" in states and answers[14] == [(288,)]
            and answers[15] == [(248,)] and answers[16] == [(40,)] and answers[17] == [],
            f"{len(answers[2])} shards, {answers[5][0][0]} rows merged into {merged}, {answers[8][0][0]} rows compressed, "
            "retention kept March and June")


def refusals(t, cluster):
    db = cluster.client()
    try:
        db.write_query("SELECT shard_archive('ev', '2025-01-05', 'cold.db')")
        t.check("shard_archive refused on the cluster", False, "it ran")
    except Error as e:
        t.check("shard_archive refused on the cluster, saying why",
                "shard_archive cannot be used on VFS 'dqlite" in e.message and "outside replication" in e.message,
                e.message[:110])
    try:
        db.exec("CREATE VIRTUAL TABLE buffered USING shards(buffer = 100)")
        t.check("buffer > 0 refused on the cluster", False, "created")
    except Error as e:
        t.check("buffer > 0 refused on the cluster, saying why", "buffer = 100 cannot be used on VFS" in e.message,
                e.message[:110])
    (before,) = db.query("SELECT count(*) FROM ev")[0]
    try:
        db.query("SELECT shard_insert('ev', ?)", [json.dumps({"ts": BASE_TS, "batch": -1})])
        t.check("a SELECT that writes outside a transaction is refused", False, "it ran")
    except Error as e:
        t.check("a SELECT that writes outside a transaction is refused, saying why",
                "replicates only inside BEGIN ... COMMIT" in e.message, e.message[:110])
    # The leader must be unharmed: a write and a read right after.
    db.exec("INSERT INTO ev(doc) VALUES (?)", [json.dumps({"ts": BASE_TS, "type": "after", "batch": -1})])
    (after,) = db.query("SELECT count(*) FROM ev")[0]
    (written,) = db.write_query("SELECT shard_insert('ev', ?)", [json.dumps({"ts": BASE_TS, "batch": -1})])[0]
    t.check("the leader carries on after the refusals; a SELECT that writes works inside BEGIN..COMMIT",
            after == before + 1 and written > 0 and db.query("SELECT count(*) FROM ev")[0][0] == before + 2)


def dqlite_shell(t, cluster):
    """The README's way in: Debian's `dqlite` shell, which runs each SELECT inside
    BEGIN ... COMMIT, so the extension's writing functions replicate through it."""
    servers = ",".join(cluster.servers())
    def run(sql):
        p = subprocess.run(["dqlite", "-s", servers, "db", sql], capture_output=True, text=True, timeout=60)
        return (p.stdout + p.stderr).strip()
    before = int(run("SELECT count(*) FROM ev"))
    key = run("SELECT shard_insert('ev', '{\"ts\":\"2025-01-01T00:00:00Z\",\"batch\":-1}') >> 40")
    after = run("SELECT count(*) FROM ev")
    listed = run("SELECT sum(rows) FROM shard_list('ev')")
    t.check("the dqlite shell: SELECT, shard_insert and shard_list on the cluster",
            key.isdigit() and int(after) == before + 1 and int(listed) == before + 1, f"{before} -> {after} rows")


def vfs_rules_without_a_cluster(t):
    """The same rules on any VFS that is not a local file's: here a Python VFS in
    apsw (SQLite 3.5x), inheriting the default one."""
    import apsw

    class OtherVFS(apsw.VFS):
        def __init__(self):
            super().__init__("shards-test-vfs", "")

    vfs = OtherVFS()
    folder = tempfile.mkdtemp(prefix="shards-vfs-test-")
    conn = apsw.Connection(os.path.join(folder, "other.db"), vfs="shards-test-vfs")
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    conn.execute("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts')")
    def error(sql):
        try:
            conn.execute(sql).fetchall()
            return "no error"
        except apsw.Error as e:
            return str(e)
    e1 = error("SELECT shard_insert('ev', '{\"ts\":1736935200000}')")
    e2 = error("CREATE VIRTUAL TABLE b USING shards(buffer = 5)")
    conn.execute("BEGIN")
    inside = conn.execute("SELECT shard_insert('ev', '{\"ts\":1736935200000}')").fetchall()
    e3 = error("SELECT shard_archive('ev', '2030-01-01', 'cold.db')")
    conn.execute("COMMIT")
    t.check("another VFS (apsw's): a SELECT that writes needs a transaction, buffer and archives are refused",
            "shards-test-vfs" in e1 and "only inside BEGIN ... COMMIT" in e1 and "buffer = 5 cannot be used" in e2
            and "shard_archive cannot be used" in e3 and len(inside) == 1
            and conn.execute("SELECT count(*) FROM ev").fetchall() == [(1,)]
            and not os.path.exists(os.path.join(folder, "cold.db")), e3[:100])
    conn.close()
    vfs.unregister()
    shutil.rmtree(folder, ignore_errors=True)


def main():
    t = Tally()
    workdir = tempfile.mkdtemp(prefix="shards-cluster-test-")
    started = time.time()
    vfs_rules_without_a_cluster(t)
    with LocalCluster(3, os.path.join(workdir, "cluster")) as cluster:
        cluster.start_all()
        t.check("three nodes: node 1 bootstraps, nodes 2 and 3 join as voters",
                sorted(m[2] for m in cluster.client().conn.cluster()) == [0, 0, 0])
        command_line(t, workdir, cluster)
        acked, killed = load_with_failover(t, cluster)
        check_rows(t, cluster.client(), acked, "after the leader's kill")
        second = restart_then_kill_leader(t, cluster, acked, killed)
        cluster.start(second)
        lifecycle_equivalence(t, cluster, workdir)
        refusals(t, cluster)
        dqlite_shell(t, cluster)
        for i in sorted(cluster.running()):
            rc = cluster.terminate(i)
            t.check(f"node {i} stops cleanly on SIGTERM", rc == 0 and cluster.log(i).rstrip().endswith("stopped"))
    if not t.failed:
        shutil.rmtree(workdir, ignore_errors=True)   # kept, with the node logs, when a check failed
    else:
        print(f"node logs and data: {workdir}")
    print(f"{t.passed} passed, {t.failed} failed ({time.time() - started:.0f} s)")
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    main()
