"""Cluster benchmark: the same collection and the same documents through a
three-node shards cluster, through one shards-node, and in a local file.

    scripts/bench-cluster [--events 200000] [--batch 1000] [--lookups 200] [--markdown]

The cluster and the single node run on loopback (cluster/local.py) and are driven
through the wire-protocol client (cluster/dqlite_wire.py); the local file is driven
through the same system libsqlite3 the nodes link (via ctypes), with the same
library, in WAL mode, at synchronous = FULL (an acknowledged batch is on disk, as a
Raft commit is) and = NORMAL. Each side loads the documents in batches of `--batch`
rows, one `INSERT INTO events(doc) SELECT value FROM json_each(?)` (one
transaction) per batch, the sides taking turns batch by batch; then they answer
the same indexed lookups, each side back to back, in turns over three rounds (the
first only warms the caches), and the answers must agree. Every figure
is from this one run.
"""
import argparse
import ctypes
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster"))
from events import LIB, generate, print_table  # noqa: E402
from local import LocalCluster  # noqa: E402

CREATE = """CREATE VIRTUAL TABLE events USING shards(partition = month, time = '$.ts',
  index = '$.type', index = 'user: $.user.id')"""
LOAD = "INSERT INTO events(doc) SELECT value FROM json_each(?)"
LOOKUPS = {
    "user": ("indexed lookup: `user = ?` (all time, ~4 rows)", "SELECT id, ts, doc FROM events WHERE user = ?"),
    "day": ("indexed lookup in a day: `count(*) WHERE type = ? AND ts` in one day",
            "SELECT count(*) FROM events WHERE type = ? AND ts >= ? AND ts < ?"),
}
SQLITE_ROW, SQLITE_DONE = 100, 101


class LocalFile:
    """The system libsqlite3 through ctypes, the extension loaded."""

    def __init__(self, path, synchronous):
        lib = self.lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_column_text.restype = ctypes.c_char_p
        lib.sqlite3_column_int64.restype = ctypes.c_int64
        lib.sqlite3_errmsg.restype = ctypes.c_char_p
        lib.sqlite3_bind_int64.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int64]
        lib.sqlite3_bind_text.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        for f in ("sqlite3_step", "sqlite3_finalize", "sqlite3_column_count", "sqlite3_column_type"):
            getattr(lib, f).argtypes = [ctypes.c_void_p] + ([ctypes.c_int] if f == "sqlite3_column_type" else [])
        lib.sqlite3_column_text.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.sqlite3_column_int64.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.db = ctypes.c_void_p()
        self.check(lib.sqlite3_open_v2(path.encode(), ctypes.byref(self.db), 6, None))
        lib.sqlite3_enable_load_extension(self.db, 1)
        err = ctypes.c_char_p()
        if lib.sqlite3_load_extension(self.db, LIB.encode(), None, ctypes.byref(err)) != 0:
            raise RuntimeError(err.value)
        self.exec(f"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}")

    def check(self, rc):
        if rc not in (0, SQLITE_ROW, SQLITE_DONE):
            raise RuntimeError(self.lib.sqlite3_errmsg(self.db).decode())

    def query(self, sql, params=()):
        stmt = ctypes.c_void_p()
        self.check(self.lib.sqlite3_prepare_v2(self.db, sql.encode(), -1, ctypes.byref(stmt), None))
        try:
            for i, p in enumerate(params, 1):
                if isinstance(p, int):
                    self.lib.sqlite3_bind_int64(stmt, i, p)
                else:
                    b = p.encode()
                    self.lib.sqlite3_bind_text(stmt, i, b, len(b), ctypes.c_void_p(-1))
            rows = []
            n = self.lib.sqlite3_column_count(stmt)
            while True:
                rc = self.lib.sqlite3_step(stmt)
                self.check(rc)
                if rc != SQLITE_ROW:
                    return rows
                rows.append(tuple(self.lib.sqlite3_column_int64(stmt, i) if self.lib.sqlite3_column_type(stmt, i) == 1
                                  else self.lib.sqlite3_column_text(stmt, i).decode() for i in range(n)))
        finally:
            self.lib.sqlite3_finalize(stmt)

    def exec(self, sql, params=()):
        if params:
            self.query(sql, params)
        else:
            self.check(self.lib.sqlite3_exec(self.db, sql.encode(), None, None, None))

    def close(self):
        self.lib.sqlite3_close_v2(self.db)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    start, end = 1704067200000, 1735689600000          # the year 2024
    docs, ts, users = generate(args.events, 7, start, end)
    batches = ["[" + ",".join(docs[i:i + args.batch]) + "]" for i in range(0, len(docs), args.batch)]
    work = tempfile.mkdtemp(prefix="shards-bench-cluster-")

    sides, clusters = {}, []
    try:
        for name, size in (("three", 3), ("one", 1)):
            c = LocalCluster(size, os.path.join(work, name))
            clusters.append(c)
            c.start_all()
            sides[name] = c.client()
        sides["full"] = LocalFile(os.path.join(work, "full.db"), "FULL")
        sides["normal"] = LocalFile(os.path.join(work, "normal.db"), "NORMAL")
        order = ["three", "one", "full", "normal"]

        # Loads interleaved batch by batch, so every side meets the same machine noise.
        seconds = {name: 0.0 for name in order}
        for name in order:
            sides[name].exec(CREATE)
        for payload in batches:
            for name in order:
                t0 = time.perf_counter()
                sides[name].exec(LOAD, [payload])
                seconds[name] += time.perf_counter() - t0
        counts = {name: sides[name].query("SELECT count(*), sum(ts) FROM events")[0] for name in order}
        assert len(set(counts.values())) == 1, counts

        # Lookups: each side answers the whole set back to back, as one client would;
        # the sides take turns in three rounds, each starting with another side, and
        # the first round only warms the page caches. Every side's answers must agree.
        import random
        rnd = random.Random(3)
        queries = []
        for _ in range(args.lookups):
            day = rnd.randrange(start, end - 86_400_000)
            queries.append({"user": [users[rnd.randrange(len(users))]], "day": ["click", day, day + 86_400_000]})
        times = {(q, name): [] for q in LOOKUPS for name in order}
        answers = {}
        for rnd_no in range(3):
            for name in order[rnd_no % len(order):] + order[:rnd_no % len(order)]:
                for k, params in enumerate(queries):
                    for q, (_, sql) in LOOKUPS.items():
                        t0 = time.perf_counter()
                        rows = sides[name].query(sql, params[q])
                        if rnd_no > 0:
                            times[(q, name)].append(time.perf_counter() - t0)
                        answers.setdefault((k, q), set()).add(tuple(sorted(rows)))
        assert all(len(a) == 1 for a in answers.values())
    finally:
        for c in clusters:
            c.stop()
        for side in ("full", "normal"):
            if side in sides:
                sides[side].close()
        shutil.rmtree(work, ignore_errors=True)

    def ratio(a, b):
        return f"{a / b:.2f}x"

    n = args.events
    rate = {name: n / seconds[name] for name in order}
    rows = [[f"batched ingest, {n:,} events in batches of {args.batch:,} (rows/s)",
             f"{rate['three']:,.0f}", f"{rate['one']:,.0f}", f"{rate['full']:,.0f}", f"{rate['normal']:,.0f}",
             ratio(rate["three"], rate["one"]), ratio(rate["three"], rate["full"])]]
    for q, (label, _) in LOOKUPS.items():
        med = {name: statistics.median(times[(q, name)]) * 1000 for name in order}
        rows.append([f"{label}, median ms of {2 * args.lookups}",
                     f"{med['three']:.2f}", f"{med['one']:.2f}", f"{med['full']:.2f}", f"{med['normal']:.2f}",
                     ratio(med["three"], med["one"]), ratio(med["three"], med["full"])])
    print_table(["measurement", "3-node cluster", "one shards-node", "local file, FULL", "local file, NORMAL",
                 "cluster / one node", "cluster / local FULL"], rows, args.markdown)


if __name__ == "__main__":
    main()
