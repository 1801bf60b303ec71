"""Datasette 0.65 with the datasette-shards plugin, over a collection and a plain
table holding the same documents. Run by scripts/test-hosts in .venv-hosts:

    .venv-hosts/bin/python Tests/python/test_datasette.py

Starts `datasette serve` on loopback (stopped by its pid, every wait bounded), then:
the table, .json, .csv, facet, filter (a text column and a typed integer index),
sort and pagination URLs of the collection all answer 200 with the rows of the plain
table; the database page lists the collection and hides its shard and catalog
tables; the table page links to shard_list; and headless Chromium (Debian's
`chromium`) renders the table page's rows.
"""
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import Tally  # noqa: E402

import sqlite_shards  # noqa: E402

BIN = os.path.dirname(sys.executable)
T = Tally()


def check(name, ok, detail=""):
    return T.check(name, ok, "" if ok else detail)


def make_database(path):
    """300 events over six months in `events` (monthly shards of at most 25 rows,
    indexes on type and on user as an integer) and the same rows in `plain`."""
    conn = sqlite3.connect(path)
    sqlite_shards.load(conn)
    conn.execute("create virtual table events using shards(partition = month, time = '$.ts', max_rows = 25, "
                 "index = '$.type', index = 'user: $.user.id integer')")
    for i in range(300):
        doc = {"ts": 1735689600000 + i * 52_000_000, "type": ["click", "view", "buy"][i % 3], "n": i}
        if i % 7:
            doc["user"] = {"id": 570 + i % 5}
        conn.execute("insert into events(doc) values (?)", (json.dumps(doc),))
    conn.execute("create table plain(id integer, ts integer, shard text, doc text, type, user integer, filter)")
    conn.execute("insert into plain(rowid, id, ts, shard, doc, type, user, filter) "
                 "select id, id, ts, shard, doc, type, user, filter from events")
    conn.commit()
    shards = [r[0] for r in conn.execute("select tbl from shard_list('events')")]
    conn.close()
    return shards


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, timeout=30):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


class Datasette:
    """`datasette serve` on a free loopback port, stopped by its pid."""

    def __init__(self, db):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([os.path.join(BIN, "datasette"), "serve", db, "--host", "127.0.0.1",
                                      "--port", str(self.port), "--setting", "sql_time_limit_ms", "20000",
                                      "--setting", "facet_time_limit_ms", "20000"],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if fetch(self.base + "/-/versions.json", timeout=5)[0] == 200:
                return True
            time.sleep(0.25)
        return False

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def rendered_dom(url, seconds=90):
    """The table page's DOM after Chromium has loaded and run it."""
    profile = tempfile.mkdtemp()
    proc = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
        return out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # its own session: Chromium and its helpers
        proc.communicate()
        return ""
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main():
    if not shutil.which("chromium"):
        print("chromium is missing (Debian: apt-get install chromium); .ci/run installs it")
        return 1
    work = tempfile.mkdtemp()
    db = os.path.join(work, "events.db")
    shards = make_database(db)
    # Two splits a month; finished months merged into one table each as the load went on.
    check("the collection spreads over many shards", len(shards) >= 6, repr(shards))
    server = Datasette(db)
    try:
        if not check("datasette serve starts (60 s at most)", server.wait_ready(), server.output()):
            return 1
        base = server.base + "/events"
        status, body = fetch(server.base + "/-/plugins.json")
        check("the datasette-shards plugin is loaded", status == 200 and any(p["name"] == "datasette-shards" for p in json.loads(body)), body)

        queries = ["", "?type=click", "?user=570", "?user=570&type=view", "?_facet=type", "?_facet=user&type=buy",
                   "?_sort=ts", "?_sort_desc=ts&type=view", "?ts__gt=1740000000000", "?_search=", "?_size=7"]
        for q in queries:
            status, page = fetch(f"{base}/events{q}")
            check(f"table page {q or '(plain)'}: 200", status == 200, f"{status}: {page[:500]}")
            a, b = fetch(f"{base}/events.json{q}"), fetch(f"{base}/plain.json{q}")
            if not check(f".json{q}: 200", a[0] == 200 and b[0] == 200, f"{a[0]} {a[1][:500]} / {b[0]}"):
                continue
            ja, jb = json.loads(a[1]), json.loads(b[1])
            check(f".json{q}: the plain table's columns and rows", (ja["columns"], ja["rows"]) == (jb["columns"], jb["rows"]),
                  f"{ja['columns']} {ja['rows'][:2]} != {jb['columns']} {jb['rows'][:2]}")
            check(f".json{q}: the same count", ja.get("filtered_table_rows_count") == jb.get("filtered_table_rows_count"),
                  f"{ja.get('filtered_table_rows_count')} != {jb.get('filtered_table_rows_count')}")
            facets = lambda j: {name: [(r["value"], r["count"]) for r in f["results"]] for name, f in j["facet_results"].items()}
            if "_facet" in q:
                check(f".json{q}: the same facet counts", facets(ja) == facets(jb) and facets(ja), f"{facets(ja)} != {facets(jb)}")
            a, b = fetch(f"{base}/events.csv{q}"), fetch(f"{base}/plain.csv{q}")
            check(f".csv{q}: 200 and the plain table's rows", a[0] == 200 and a[1] == b[1] and len(a[1].splitlines()) > 1,
                  f"{a[0]}: {a[1][:300]!r} != {b[1][:300]!r}")

        # user is an integer index: Datasette binds ?user=570 as the text '570'.
        conn = sqlite3.connect(db)
        want = conn.execute("select count(*) from plain where user = 570").fetchone()[0]
        conn.close()
        got = json.loads(fetch(f"{base}/events.json?user=570")[1])["filtered_table_rows_count"]
        check("?user=570 finds the documents of user 570", got == want and want > 0, f"{got} != {want}")

        # Pagination: follow next_url to the end, on both. Sorted by user, the next
        # page's bound comes back as text ('572'): the integer column converts it.
        def all_pages(table, sort):
            url, rows, pages = f"{base}/{table}.json?_size=40&{sort}", [], 0
            while url and pages < 50:
                j = json.loads(fetch(url)[1])
                rows += j["rows"]
                url, pages = j.get("next_url"), pages + 1
            return rows, pages
        for sort in ["_sort=ts", "_sort=user", "_sort_desc=type", "_sort=rowid"]:
            (ra, pa), (rb, pb) = all_pages("events", sort), all_pages("plain", sort)
            check(f"pagination by {sort}: every page, every row, as the plain table", ra == rb and len(ra) == 300 and pa == 8,
                  f"{len(ra)} rows in {pa} pages vs {len(rb)} in {pb}")
        status, body = fetch(f"{base}/events.csv?_stream=on&_size=max")
        check("streamed CSV of every row", status == 200 and len(list(csv.reader(io.StringIO(body)))) == 301, f"{status} {body[:200]}")

        # The database page: the collection, not its shard and catalog tables.
        tables = {t["name"]: t["hidden"] for t in json.loads(fetch(base + ".json")[1])["tables"]}
        ours = shards + ["events_config", "events_shards"]
        check("database .json: events and plain visible", tables.get("events") is False and tables.get("plain") is False, repr(tables))
        check("database .json: every shard and catalog table hidden", all(tables.get(t) is True for t in ours),
              repr({t: tables.get(t) for t in ours}))
        status, page = fetch(base)
        links = set(re.findall(r'<h3><a href="/events/([^"]+)">', page))
        check("database page lists the collection and not its shard tables", status == 200 and links == {"events", "plain"},
              f"{status}: {sorted(links)}")

        # The table page links to the collection's shard_list.
        status, page = fetch(f"{base}/events")
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*shard_list[^"]*)"', page)]
        check("the table page links to shard_list", len(hrefs) == 1, repr(hrefs))
        if hrefs:
            status, listing = fetch(server.base + hrefs[0])
            check("the link lists the shards", status == 200 and all(f">{s}<" in listing for s in ["events:2025:01:000"]),
                  f"{status} {listing[:300]}")
        status, page = fetch(f"{base}/plain")
        check("a plain table has no such link", status == 200 and "shard_list" not in page)

        # Headless Chromium renders the rows.
        for q in ["?type=click", "?user=570"]:
            expected = json.loads(fetch(f"{base}/events.json{q}")[1])["rows"]
            dom = rendered_dom(f"{base}/events{q}")
            cells = re.findall(r'<td class="col-type type-str">([^<]*)</td>', dom)
            docs = re.findall(r'<td class="col-doc type-str">', dom)
            check(f"Chromium renders the rows of {q}", len(cells) == len(expected) > 0 and len(docs) == len(expected)
                  and set(cells) == {r[5] for r in expected}, f"{len(cells)} cells for {len(expected)} rows; DOM {len(dom)} bytes")
    finally:
        server.stop()
        check("datasette stopped", server.proc.poll() is not None)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or not T.passed else 0


if __name__ == "__main__":
    sys.exit(main())
