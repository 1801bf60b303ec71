"""How fast the sketch aggregates add values and merge states, through SQL (apsw).

    scripts/bench-sketches [--values 1000000] [--states 2000] [--markdown]

Adding: a state built from `--values` values in one group, against count(v) and
count(DISTINCT v) over the same rows (the cost of stepping the rows themselves).
Merging: up to `--states` stored states of each size (as many as the values
allow) merged by shards_distinct / shards_quantile, per state. Times are the best of three runs.
"""
import argparse
import os
import time

import apsw

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")


def best(conn, sql, reps=3):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--values", type=int, default=1_000_000)
    ap.add_argument("--states", type=int, default=2000)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    conn = apsw.Connection(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    n = args.values
    conn.execute(f"""CREATE TABLE v(i INTEGER, x REAL, t TEXT);
        WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1})
        INSERT INTO v SELECT i, (i * 7919 % 100000) / 7.0 + 1, 'user-' || i FROM s;""")

    rows = []
    base = best(conn, "SELECT count(i) FROM v")
    for label, sql in [
        ("count(i) (the cost of the rows)", "SELECT count(i) FROM v"),
        ("count(DISTINCT i)", "SELECT count(DISTINCT i) FROM v"),
        ("shards_distinct_state(i), integers", "SELECT length(shards_distinct_state(i)) FROM v"),
        ("shards_distinct_state(t), text", "SELECT length(shards_distinct_state(t)) FROM v"),
        ("shards_quantile_state(x)", "SELECT length(shards_quantile_state(x)) FROM v"),
    ]:
        s = best(conn, sql)
        rows.append((f"add: {label}", f"{s * 1e3:.1f} ms", f"{(s - base) / n * 1e9:.0f} ns a value over count(i)"))

    for size in [100, 1000, 20000]:
        k = min(args.states, n // size)
        conn.execute(f"""DROP TABLE IF EXISTS st;
            CREATE TABLE st AS SELECT g, shards_distinct_state(i) d, shards_quantile_state(x) q
              FROM (SELECT i % {k} g, i, x FROM v WHERE i < {k * size}) GROUP BY g""")
        have = conn.execute("SELECT count(*), avg(length(d)), avg(length(q)) FROM st").fetchone()
        d = best(conn, "SELECT shards_distinct(d) FROM st")
        q = best(conn, "SELECT shards_quantile(q, 0.95) FROM st")
        rows.append((f"merge {k} distinct states of {size} values ({have[1]:.0f} B)", f"{d * 1e3:.1f} ms", f"{d / k * 1e6:.1f} µs a state"))
        rows.append((f"merge {k} quantile states of {size} values ({have[2]:.0f} B)", f"{q * 1e3:.1f} ms", f"{q / k * 1e6:.1f} µs a state"))

    if args.markdown:
        print("| what | time | per unit |\n|---|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} |")
    else:
        for r in rows:
            print(f"{r[0]:<60} {r[1]:>10}  {r[2]}")


if __name__ == "__main__":
    main()
