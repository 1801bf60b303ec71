"""Datasette 0.65 with the datasette-shards plugin, over a collection and a plain
table holding the same documents. Run by scripts/test-hosts in .venv-hosts:

    .venv-hosts/bin/python Tests/python/test_datasette.py

Starts `datasette serve` on loopback (stopped by its pid, every wait bounded), then:
the table, .json, .csv, facet, filter (a text column and a typed integer index),
sort and pagination URLs of the collection all answer 200 with the rows of the plain
table (whose `id` is its primary key, as a collection's is); the database page lists
the collection and hides its shard and catalog tables; the table page links to
shard_list, has no `rowid` column, shows `ts` as UTC times and charts documents per
bucket over the filtered rows; a rollup's page (when the build has `shards_rollup`)
charts its measure; and headless Chromium (Debian's `chromium`) renders the table
page's rows and, in a screenshot, the chart's bars.
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

from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from harness import Tally  # noqa: E402

import sqlite_shards  # noqa: E402
from datasette_shards import chart  # noqa: E402

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
    conn.execute("create table plain(id integer primary key, ts integer, shard text, doc text, type, user integer, filter)")
    conn.execute("insert into plain(rowid, id, ts, shard, doc, type, user, filter) "
                 "select id, id, ts, shard, doc, type, user, filter from events")
    conn.commit()
    shards = [r[0] for r in conn.execute("select tbl from shard_list('events')")]
    try:
        conn.execute("create virtual table events_daily using shards_rollup(source = events, bucket = '1 day', "
                     "group = '$.type', measure = 'n: count', measure = 'total: sum($.n)')")
        rollup = True
    except sqlite3.OperationalError as e:
        rollup = "no such module" not in str(e) and str(e)
    conn.commit()
    conn.close()
    return shards, rollup


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


def screenshot(url, path, seconds=90):
    """A 1200x1400 PNG of the page as headless Chromium draws it."""
    profile = tempfile.mkdtemp()
    proc = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1200,1400",
                             "--virtual-time-budget=5000", f"--screenshot={path}", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return os.path.exists(path)


def bar_columns(path):
    """{x: number of pixels} of the chart's bar colour in the screenshot, and the
    bounding box of those pixels (None when there are none)."""
    color = tuple(int(chart.BAR_COLOR[i:i + 2], 16) for i in (1, 3, 5))
    image = Image.open(path).convert("RGB")
    width, height = image.size
    pixels = image.load()
    columns, box = {}, None
    for y in range(height):
        for x in range(width):
            if pixels[x, y] == color:
                columns[x] = columns.get(x, 0) + 1
                box = (min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)) if box else (x, y, x, y)
    return columns, box


def chart_bars(page):
    """(bucket label, value) of each bar of the page's chart, from its SVG."""
    figure = re.search(r'<figure class="shards-chart".*?</figure>', page, re.S)
    if not figure:
        return None
    return [(label, int(value.replace(",", ""))) for label, value in
            re.findall(r"<rect [^>]*><title>([^<]*): ([0-9,]+)</title></rect>", figure.group(0))]


def check_helpers():
    """chart.py's pure parts: measures of a rollup's CREATE, bucket SQL against Python."""
    check("rollup_measure: the first count/sum/min/max measure, skipping avg",
          chart.rollup_measure("create virtual table r using shards_rollup(source = e, bucket = '1 hour', "
                               "measure = 'mean: avg($.d)', measure = 'n: count')") == ("n", "sum")
          and chart.rollup_measure("... measure = \"top: max($.d)\"") == ("top", "max")
          and chart.rollup_measure("... measure = 'p: quantile($.d, 0.5)'") is None)
    check("rollup_bucket_ms reads the bucket option",
          chart.rollup_bucket_ms("shards_rollup(source = e, bucket = '15 minutes')") == 15 * 60_000
          and chart.rollup_bucket_ms("bucket = '1 day'") == 86_400_000)
    conn = sqlite3.connect(":memory:")
    import datetime
    for ms in [1735689600000, 1736935261001, 1740787199999, 951782400000, 1709251200000]:
        moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
        want = {"hour": moment.replace(minute=0, second=0, microsecond=0),
                "day": moment.replace(hour=0, minute=0, second=0, microsecond=0),
                "month": moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
                "year": moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)}
        want["week"] = want["day"] - datetime.timedelta(days=moment.weekday())
        for unit, start in want.items():
            got = conn.execute(f"select {chart.bucket_sql('v', unit)} from (select ? as v)", (ms,)).fetchone()[0]
            check(f"bucket_sql {unit} of {ms}: {start:%Y-%m-%d %H:%M} UTC", got == int(start.timestamp() * 1000), got)
    conn.close()


def main():
    if not shutil.which("chromium"):
        print("chromium is missing (Debian: apt-get install chromium); .ci/run installs it")
        return 1
    work = tempfile.mkdtemp()
    db = os.path.join(work, "events.db")
    check_helpers()
    shards, rollup = make_database(db)
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
        for sort in ["_sort=ts", "_sort=user", "_sort_desc=type", "_sort=id"]:
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
        # (A rollup is a table of the user's: listed; its partials are shadow tables: not.)
        want = {"events", "plain"} | ({"events_daily"} if rollup is True else set())
        check("database page lists the collection and not its shard tables", status == 200 and links == want,
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

        # No rowid column: the collection's primary key is id, as the plain table's.
        j = json.loads(fetch(f"{base}/events.json?_size=3")[1])
        check("the collection's primary key is id, and no rowid column", j["primary_keys"] == ["id"]
              and "rowid" not in j["columns"] and j["columns"][0] == "id", f"{j['primary_keys']} {j['columns']}")
        status, page = fetch(f"{base}/events")
        check("the table page has no rowid column", status == 200 and 'data-column="rowid"' not in page
              and page.count('scope="col"') == len(j["columns"]), re.findall(r'data-column="([^"]+)"', page))
        first = j["rows"][0]
        status, row_page = fetch(f"{base}/events/{first[0]}.json")
        row = json.loads(row_page) if status == 200 else {}
        check("a row's page, by id (without the hidden filter column)",
              row.get("rows") == [first[:len(row["columns"])]] and row["columns"] == j["columns"][:-1], row_page[:300])

        # ts as UTC times on the collection, raw on the plain table.
        cells = re.findall(r'<td class="col-ts type-int">(.*?)</td>', page)
        check("the collection's ts reads as a UTC time, the ms in its title",
              cells and cells[0] == '<span class="shards-time" title="1735689600000">2025-01-01 00:00:00 UTC</span>',
              cells[:2])
        plain_cells = re.findall(r'<td class="col-ts type-int">(.*?)</td>', fetch(f"{base}/plain")[1])
        check("the plain table's ts stays a number", plain_cells[:1] == ["1735689600000"], plain_cells[:2])

        # The chart: counts per bucket over the filtered rows, as SQL counts them.
        conn = sqlite3.connect(db)
        for q, where in [("", ""), ("?type=click", "where type = 'click'"), ("?user=570&type=view",
                                                                                "where user = 570 and type = 'view'"),
                         ("?ts__gte=1740787200000", "where ts >= 1740787200000")]:
            status, page = fetch(f"{base}/events{q}")
            bars = chart_bars(page)
            weeks = conn.execute(f"select date(ts / 1000, 'unixepoch', '-6 days', 'weekday 1'), count(*) "
                                 f"from plain {where} group by 1 order by 1").fetchall()
            check(f"the chart of {q or '(all)'}: documents per week, as GROUP BY counts them",
                  status == 200 and bars == weeks and "Documents per week (UTC)" in page, f"{bars} != {weeks}")
        conn.close()
        check("no chart on a plain table", chart_bars(fetch(f"{base}/plain")[1]) is None)

        # A rollup: its measure per bucket, times as UTC.
        if rollup is True:
            status, page = fetch(f"{base}/events_daily")
            bars = chart_bars(page)
            conn = sqlite3.connect(db)
            days = conn.execute("select strftime('%Y-%m-%d', ts / 1000, 'unixepoch'), count(*) from plain "
                                "group by 1 order by 1").fetchall()
            conn.close()
            check("the rollup's chart: its count per bucket over every group", status == 200 and bars
                  and sum(v for _, v in bars) == 300 and "n per " in page, f"{status} {bars} {days[:3]}")
            check("the rollup's bucket and bucket_ms read as UTC times",
                  re.search(r'<td class="col-bucket_ms[^"]*"><span class="shards-time" title="\d+">20\d\d-\d\d-\d\d '
                            r'00:00:00 UTC</span>', page) and
                  re.search(r'<td class="col-bucket[^_"]*"><span class="shards-time">20\d\d-\d\d-\d\d 00:00:00 UTC',
                            page), page[:300])
        else:
            T.info(f"rollup chart not tested: this build has no shards_rollup ({rollup or 'no such module'})")

        # Headless Chromium draws the chart: its bar colour, in bars of several
        # heights, in the page's top part, under the header; none on a plain table.
        shot = os.path.join(work, "events.png")
        if check("Chromium takes a screenshot of the table page", screenshot(f"{base}/events?type=click", shot)):
            columns, box = bar_columns(shot)
            heights = sorted(set(columns.values()))
            check("the screenshot shows the chart's bars: many columns of its colour, of several heights",
                  len(columns) > 300 and len(heights) >= 2 and box and 60 < box[1] < 400 and box[3] < 700,
                  f"{len(columns)} columns, heights {heights[:10]}, box {box}")
        shot = os.path.join(work, "plain.png")
        if screenshot(f"{base}/plain?type=click", shot):
            columns, _ = bar_columns(shot)
            check("the plain table's screenshot has no pixel of that colour", not columns, f"{len(columns)} columns")

        # Headless Chromium renders the rows.
        for q in ["?type=click", "?user=570"]:
            expected = json.loads(fetch(f"{base}/events.json{q}")[1])["rows"]
            dom = rendered_dom(f"{base}/events{q}")
            cells = re.findall(r'<td class="col-type type-str">([^<]*)</td>', dom)
            docs = re.findall(r'<td class="col-doc type-str">', dom)
            check(f"Chromium renders the rows of {q}", len(cells) == len(expected) > 0 and len(docs) == len(expected)
                  and set(cells) == {r[4] for r in expected}, f"{len(cells)} cells for {len(expected)} rows; DOM {len(dom)} bytes")
            check(f"... and the chart's SVG of {q}", re.search(r'<figure class="shards-chart".*?<svg.*?<rect ', dom, re.S),
                  f"DOM {len(dom)} bytes")
    finally:
        server.stop()
        check("datasette stopped", server.proc.poll() is not None)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or not T.passed else 0


if __name__ == "__main__":
    sys.exit(main())
