"""The sqlite-utils-shards plugin through the real `sqlite-utils` command line, as
installed in .venv-hosts by scripts/test-hosts:

    .venv-hosts/bin/python Tests/python/test_sqlite_utils.py

shards-create (options, a bad option refused with nothing made), shards-insert
(NDJSON, a JSON array, CSV with types, found from the content or given; a missing
collection refused without making a table; a bad record named, nothing inserted),
shards-compress and shards-merge (one call per period, in a pseudo-terminal so the
progress bars draw), `tables` without shard and catalog tables (`--hidden` with
them), and `sqlite-utils insert --nl` into a collection naming `--convert`.
"""
import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Tally  # noqa: E402

import sqlite_shards  # noqa: E402

SU = os.path.join(os.path.dirname(sys.executable), "sqlite-utils")
T = Tally()


def check(name, ok, detail=""):
    return T.check(name, ok, "" if ok else detail)


def su(*args, timeout=120):
    proc = subprocess.run([SU, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def su_tty(*args, seconds=120):
    """sqlite-utils with stdout and stderr on a pseudo-terminal (click draws progress
    bars only on a terminal): its exit code and everything it wrote."""
    master, slave = os.openpty()
    proc = subprocess.Popen([SU, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(slave)
    out, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout=30), out.decode(errors="replace")


def query(db, sql, params=()):
    conn = sqlite3.connect(db)
    sqlite_shards.load(conn)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def events(n, start=1735689600000, step=6_000_000):
    """n documents, one every 100 minutes from 2025-01-01: a bit over four months for 2,000."""
    return [{"ts": start + i * step, "type": ["click", "view", "buy"][i % 3], "user": {"id": 570 + i % 5}, "n": i}
            for i in range(n)]


def main():
    work = tempfile.mkdtemp()
    db = os.path.join(work, "events.db")
    try:
        code, out, _ = su("plugins")
        check("sqlite-utils lists the sqlite-utils-shards plugin",
              code == 0 and any(p["name"] == "sqlite-utils-shards" for p in json.loads(out)), out)

        # shards-create: options become the module's arguments.
        code, out, err = su("shards-create", db, "events", "--time", "$.ts", "--index", "$.type",
                            "--index", "user: $.user.id integer", "--max-rows", 100, "--merge", "none")
        sql = query(db, "select sql from sqlite_master where name = 'events'")
        check("shards-create makes the collection with its options", code == 0 and sql and "max_rows = '100'" in sql[0][0]
              and "index = 'user: $.user.id integer'" in sql[0][0], f"{code} {err} {sql}")
        code, _, err = su("shards-create", db, "events", "--time", "$.ts")
        check("shards-create on an existing collection fails", code != 0 and "already exists" in err, err)
        code, _, _ = su("shards-create", db, "events", "--time", "$.ts", "--if-not-exists")
        check("shards-create --if-not-exists leaves it", code == 0)
        code, _, err = su("shards-create", db, "weekly", "--partition", "week")
        check("a bad option: the extension's error, naming the option and the valid values",
              code == 1 and "partition" in err and "month" in err, err)
        code, _, err = su("shards-create", db, "odd", "-o", "retain=90 days", "-o", "nonsense")
        check("-o without '=' is refused", code != 0 and "KEY=VALUE" in err, err)
        check("nothing made by the refused creates",
              query(db, "select count(*) from sqlite_master where name in ('weekly', 'odd')") == [(0,)])

        # shards-insert: NDJSON (found from the content), a JSON array, CSV.
        docs = events(2000)
        ndjson = os.path.join(work, "events.ndjson")
        with open(ndjson, "w") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs[:1500])
        array = os.path.join(work, "events.json")
        with open(array, "w") as f:
            json.dump(docs[1500:], f, indent=1)
        code, out, err = su("shards-insert", db, "events", ndjson)
        check("shards-insert NDJSON (format found from the content)", code == 0 and "1500 documents inserted" in err, err)
        code, out, err = su("shards-insert", db, "events", array, "--json")
        check("shards-insert a JSON array", code == 0 and "500 documents inserted" in err, err)
        stored = [json.loads(d) for (d,) in query(db, "select doc from events order by id")]
        check("every document stored as given, in order", stored == docs, f"{len(stored)} docs")
        shards = query(db, "select count(*) from shard_list('events')")[0][0]
        check("split into shards of 100 rows", shards >= 20, shards)

        csv_path = os.path.join(work, "more.csv")
        with open(csv_path, "w") as f:
            f.write("ts,type,n,code,note\n2025-06-01T10:00:00Z,csv,5,007,\n2025-06-02T10:00:00Z,csv,1.5,12,a b\n")
        code, _, err = su("shards-insert", db, "events", csv_path)
        got = [json.loads(d) for (d,) in query(db, "select doc from events where type = 'csv' order by ts")]
        check("shards-insert CSV: numbers as numbers, 007 as text, an empty cell as null",
              code == 0 and got == [{"ts": "2025-06-01T10:00:00Z", "type": "csv", "n": 5, "code": "007", "note": None},
                                    {"ts": "2025-06-02T10:00:00Z", "type": "csv", "n": 1.5, "code": 12, "note": "a b"}],
              f"{err} {got}")
        code, _, err = su("shards-insert", db, "events", csv_path, "--csv", "--no-detect-types")
        got = [json.loads(d)["n"] for (d,) in query(db, "select doc from events where type = 'csv' order by id")]
        check("--no-detect-types keeps CSV values as text", code == 0 and got[2:] == ["5", "1.5"], f"{err} {got}")

        # Refusals: a missing collection, a plain table, a bad record.
        before = query(db, "select count(*) from events")[0][0]
        code, _, err = su("shards-insert", db, "missing", ndjson)
        check("shards-insert into a missing collection fails, naming shards-create",
              code == 1 and "no such collection: missing" in err and "shards-create" in err, err)
        check("... and makes no table", query(db, "select count(*) from sqlite_master where name = 'missing'") == [(0,)])
        query(db, "create table plain(doc)")
        code, _, err = su("shards-insert", db, "plain", ndjson)
        check("shards-insert into a plain table fails", code == 1 and "not a shards collection" in err, err)
        bad = os.path.join(work, "bad.ndjson")
        with open(bad, "w") as f:
            f.writelines(json.dumps(d) + "\n" for d in events(30, start=1740000000000))
            f.write(json.dumps({"type": "no time"}) + "\n")
            f.writelines(json.dumps(d) + "\n" for d in events(5, start=1741000000000))
        code, _, err = su("shards-insert", db, "events", bad, "--batch-size", 7)
        check("a document the collection refuses: its record number and nothing inserted",
              code == 1 and "record 31:" in err and "$.ts" in err and "nothing was inserted" in err
              and query(db, "select count(*) from events")[0][0] == before, err)

        broken = os.path.join(work, "broken.ndjson")
        with open(broken, "w") as f:
            f.write(json.dumps(docs[0]) + "\n\n" + json.dumps(docs[1]) + "\n" + '{"ts": 1740000000000, "type": \n')
        code, _, err = su("shards-insert", db, "events", broken, "--nl")
        check("a line that is not JSON: its record number, nothing inserted",
              code == 1 and "record 3: cannot read it" in err and "nothing was inserted" in err
              and query(db, "select count(*) from events")[0][0] == before, err)

        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("begin immediate")
        code, _, err = su("shards-insert", db, "events", ndjson)
        holder.execute("rollback")
        holder.close()
        check("a locked database: SQLite's error, not a traceback", code == 1 and "database is locked" in err
              and "nothing was inserted" in err and "Traceback" not in err, err[-500:])

        # sqlite-utils' own insert: the error names the fix, and the fix works.
        code, _, err = su("insert", db, "events", ndjson, "--nl")
        check("sqlite-utils insert --nl into a collection names --convert and shards-insert",
              code == 1 and "--convert '{\"doc\": row}'" in err and "shards-insert" in err, err)
        code, _, err = su("insert", db, "events", ndjson, "--nl", "--alter")
        check("... with --alter too", code == 1 and "--convert" in err, err)
        code, _, err = su("insert", db, "events", ndjson, "--nl", "--convert", '{"doc": row}')
        check("... and --convert '{\"doc\": row}' inserts",
              code == 0 and query(db, "select count(*) from events")[0][0] == before + 1500, err)
        code, _, err = su("insert", db, "plain2", ndjson, "--nl")
        check("a plain table is sqlite-utils' as before", code == 0, err)

        # tables: the collection, not its shard and catalog tables.
        code, out, _ = su("tables", db)
        names = {t["table"] for t in json.loads(out)}
        check("tables: the collection and plain tables, no shard or catalog table",
              code == 0 and names == {"events", "plain", "plain2"}, names)
        code, out, _ = su("tables", db, "--hidden")
        hidden = {t["table"] for t in json.loads(out)} - names
        shard_tables = {r[0] for r in query(db, "select tbl from shard_list('events')")}
        check("tables --hidden lists them too", code == 0 and hidden == shard_tables | {"events_shards", "events_config"},
              sorted(hidden ^ (shard_tables | {"events_shards", "events_config"})))
        code, out, _ = su("tables", db, "--counts")
        check("tables --counts counts the collection",
              code == 0 and {t["table"]: t["count"] for t in json.loads(out)}["events"] == before + 1500, out)

        # shards-compress: a progress bar, one call per period (January and February).
        rows_before = query(db, "select count(*), sum(ts) from events")
        code, out = su_tty("shards-compress", db, "events", "--before", "2025-03-01")
        periods = query(db, "select substr(shard, 1, 14), group_concat(distinct state) from shard_list('events') "
                            "group by 1 order by 1")
        check("shards-compress: January and February compressed, March on untouched",
              code == 0 and periods[:3] == [("events:2025:01", "compressed"), ("events:2025:02", "compressed"),
                                            ("events:2025:03", "sealed")], f"{code} {periods} {out[-500:]}")
        check("shards-compress draws a progress bar through each period",
              "compress events" in out and "100%" in out and "events up to 2025-02-01 00:00 UTC" in out
              and "events up to 2025-03-01 00:00 UTC" in out and "(2 periods)" in out, out[-800:])
        check("every row still there", query(db, "select count(*), sum(ts) from events") == rows_before)
        code, _, err = su("shards-compress", db, "events", "--before", "2025-03-01")
        check("compressing again: nothing to do", code == 0 and "nothing to compress" in err, err)
        code, _, err = su("shards-compress", db, "events", "--before", "soon")
        check("a bad --before is refused", code == 2 and "--before" in err, err)

        # shards-merge: the splits of each finished month into one table.
        code, out = su_tty("shards-merge", db, "events", "--before", "2025-07-01")
        merged = query(db, "select substr(shard, 1, 14), count(*), group_concat(shard) from shard_list('events') "
                           "where state != 'compressed' group by 1 order by 1")
        check("shards-merge: March to May merged into one table each (June had one shard)",
              code == 0 and [m[:2] for m in merged] == [(f"events:2025:0{m}", 1) for m in (3, 4, 5, 6)]
              and all(m[2].endswith(":000") for m in merged[:3]), f"{merged} {out[-500:]}")
        check("shards-merge draws a progress bar", "merge events" in out and "100%" in out and "rows moved" in out,
              out[-500:])
        check("every row still there after the merge",
              query(db, "select count(*), sum(ts) from events") == rows_before)

        # shards-refresh: a rollup's partials built shard by shard, with a bar.
        code, _, err = su("query", db, "create virtual table daily using shards_rollup(source = events, "
                                       "bucket = '1 day', group = '$.type', measure = 'n: count')")
        check("a rollup made through sqlite-utils", code == 0, err)
        unbuilt = query(db, "select count(*) from shard_list('events') where state != 'hot'")[0][0]
        code, out = su_tty("shards-refresh", db, "daily")
        built = query(db, "select count(*) from daily_built")[0][0]
        check("shards-refresh builds every finished shard, one call each, with a progress bar",
              code == 0 and "refresh daily" in out and "100%" in out and f"{built} shards built for daily" in out
              and 0 < built <= unbuilt, f"{code} built {built} of {unbuilt}: {out[-500:]}")
        check("the rollup answers as GROUP BY after the refresh",
              query(db, "select bucket, type, n from daily order by 1, 2")
              == query(db, "select strftime('%Y-%m-%d 00:00:00', ts / 1000, 'unixepoch'), type, count(*) "
                           "from events group by 1, 2 order by 1, 2"))
        code, _, err = su("shards-refresh", db, "daily", "--silent")
        check("refreshing again builds nothing", code == 0 and "0 shards built for daily" in err, err)
        code, _, err = su("shards-refresh", db, "events")
        check("shards-refresh of a collection is refused", code == 1 and "not a rollup" in err, err)

        # shards-insert's own bar, on a terminal.
        code, out = su_tty("shards-insert", db, "events", ndjson)
        check("shards-insert draws a progress bar", code == 0 and "inserting into events" in out and "100%" in out,
              out[-500:])
        code, out = su_tty("shards-insert", db, "events", array, "--json")
        check("... counting documents for a JSON array", code == 0 and "500/500" in out.replace(" ", ""), out[-500:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or not T.passed else 0


if __name__ == "__main__":
    sys.exit(main())
