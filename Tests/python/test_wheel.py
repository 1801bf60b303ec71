"""The sqlite-shards wheel and the Python hosts it serves. Run by scripts/test-hosts
in .venv-hosts (where pip installed python/sqlite-shards and python/datasette-shards):

    .venv-hosts/bin/python Tests/python/test_wheel.py

Checks that `sqlite_shards.load(conn)` works in the standard sqlite3 module, apsw,
sqlean.py and pysqlite3 (in .venv-pysqlite3), that every Tests/sql/*.sql case file passes
in each of those hosts but apsw (Tests/python/test_host.py runs them there), each
with its own SQLite, and the sqlite-utils NDJSON recipe of the README. The wheel
itself, and the library without Swift: Tests/python/test_release.py.
"""
import json
import os
import subprocess
import sys
import tempfile

import sqlite_shards

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sql_cases  # noqa: E402  (the runner of Tests/sql/, next to this file)

# The hosts are imported in main(): the pysqlite3 environment imports only exercise().

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
T = None


def check(name, ok, detail=""):
    """A check; its detail is printed only when it fails."""
    return T.check(name, ok, "" if ok else detail)

DOCS = [{"ts": f"2025-0{1 + i % 3}-1{i % 10}T08:00:00Z", "type": ["click", "view"][i % 2], "user": {"id": 570 + i % 3}}
        for i in range(30)]


def exercise(conn, name):
    """A collection with a typed index through a host's connection; what it reads back."""
    run = lambda sql, *a: list(conn.execute(sql, a))
    run("create virtual table ev using shards(time = '$.ts', max_rows = 8, index = '$.type', index = 'user: $.user.id integer')")
    for d in DOCS:
        run("insert into ev(doc) values (?)", json.dumps(d))
    return [tuple(r) for r in run("select shards_version(), count(*), sum(type = 'click'), "
                                  "(select count(*) from ev where user = '570'), (select count(*) from shard_list('ev')) from ev")]


# Months interleave, so most documents are late for a finished month: they join the
# month's merged table (docs/late-documents.md) instead of making shards of their own.
EXPECTED = [("0.1.0", 30, 15, 10, 5)]

def run_case_files(connect, complete):
    """Every Tests/sql/*.sql case file (the demo aside) on a fresh connection of a host,
    through the one runner of the format (Tests/python/sql_cases.py). Returns the
    number of cases passed and the failures."""
    return sql_cases.case_files_in(sql_cases.ConnectionHost("host", connect, complete))


def loaded(make, path):
    conn = make(path)
    sqlite_shards.load(conn)
    return conn


def host_checks():
    complete_of = {"sqlean.py": sqlean.complete_statement, "sqlite3": sqlite3.complete_statement}
    hosts = [("apsw", lambda path=":memory:": apsw.Connection(path)),
             ("sqlean.py", lambda path=":memory:": sqlean.connect(path, isolation_level=None))]
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        hosts.append(("sqlite3", lambda path=":memory:": sqlite3.connect(path, isolation_level=None)))
    else:
        check(f"this Python's sqlite3 cannot load extensions ({sys.executable}); run with Debian's python3", False)
    for name, make in hosts:
        conn = make()
        try:
            sqlite_shards.load(conn)
            got = exercise(conn, name)
            check(f"{name}: a collection works", got == EXPECTED, f"{got!r} != {EXPECTED!r}")
        except Exception as e:
            check(f"{name}: load and use", False, repr(e))
        if name != "apsw":   # apsw runs them in Tests/python/test_host.py
            passed, failures = run_case_files(lambda path: loaded(make, path), complete_of[name])
            check(f"{name}: the SQL case files pass ({passed} cases)", passed > 300 and not failures, "\n".join(failures[:10]))
        try:
            conn.load_extension(sqlite_shards.loadable_path())
            check(f"{name}: extension loading is off again after load()", False)
        except Exception:
            check(f"{name}: extension loading is off again after load()", True)
        conn.close()

    class NoExtensions:
        pass
    try:
        sqlite_shards.load(NoExtensions())
        check("a connection that cannot load extensions is refused", False)
    except RuntimeError as e:
        check("a connection that cannot load extensions: a clear error", "cannot load SQLite extensions" in str(e) and "apsw" in str(e), str(e))

    # pysqlite3 in its own environment (Datasette would prefer it over sqlite3 here).
    py = os.path.join(ROOT, ".venv-pysqlite3", "bin", "python")
    code = ("import json, sys, pysqlite3.dbapi2 as s, sqlite_shards\n"
            f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
            "from test_wheel import exercise, run_case_files\n"
            "def connect(path):\n"
            "    c = s.connect(path, isolation_level=None); sqlite_shards.load(c); return c\n"
            "cases = run_case_files(connect, s.complete_statement)\n"
            "print(json.dumps([s.sqlite_version, exercise(connect(':memory:'), 'pysqlite3'), cases]))")
    r = subprocess.run([py, "-c", code], capture_output=True, text=True)
    try:
        version, got, (passed, failures) = json.loads(r.stdout)
        check(f"pysqlite3 (SQLite {version}): a collection works", [tuple(x) for x in got] == EXPECTED, repr(got))
        check(f"pysqlite3: the SQL case files pass ({passed} cases)", passed > 300 and not failures, "\n".join(failures[:10]))
    except ValueError:
        check("pysqlite3: load and use", False, (r.stdout + r.stderr)[-2000:])


def sqlite_utils_checks():
    """The README's recipe: sqlite-utils loads shards through the plugin sqlite-shards
    registers; each NDJSON line becomes the doc of one row."""
    with tempfile.TemporaryDirectory() as d:
        db, ndjson = os.path.join(d, "events.db"), os.path.join(d, "events.ndjson")
        with open(ndjson, "w") as f:
            f.writelines(json.dumps(doc) + "\n" for doc in DOCS)
        cli = os.path.join(BIN, "sqlite-utils")
        r = subprocess.run([cli, "plugins"], capture_output=True, text=True)
        check("sqlite-utils lists the plugin", "sqlite-shards" in r.stdout, r.stdout + r.stderr)
        r = subprocess.run([cli, "query", db, "create virtual table events using shards(time = '$.ts', index = '$.type', "
                                             "index = 'user: $.user.id integer')"], capture_output=True, text=True)
        check("sqlite-utils query creates a collection", r.returncode == 0, r.stderr)
        r = subprocess.run([cli, "insert", db, "events", ndjson, "--nl", "--convert", '{"doc": row}'], capture_output=True, text=True)
        check("sqlite-utils insert --nl --convert '{\"doc\": row}' loads NDJSON", r.returncode == 0, r.stderr)
        r = subprocess.run([cli, "query", db, "select type, count(*) as n from events where user = '571' group by type order by type"],
                           capture_output=True, text=True)
        check("sqlite-utils query reads it back", json.loads(r.stdout or "null") == [{"type": "click", "n": 5}, {"type": "view", "n": 5}], r.stdout + r.stderr)
        # A Python whose sqlite3 cannot load extensions keeps a working sqlite-utils.
        import warnings
        from sqlite_shards import sqlite_utils_plugin
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sqlite_utils_plugin.prepare_connection(object())
        check("the plugin warns, not fails, where extensions cannot load",
              any("cannot load extensions" in str(w.message) for w in caught), repr([str(w.message) for w in caught]))
        # The same through the library.
        conn = sqlite_utils.Database(db)
        conn["events"].insert_all({"doc": doc} for doc in DOCS)
        check("sqlite_utils.Database inserts too", conn.execute("select count(*) from events").fetchone()[0] == 2 * len(DOCS))
        check("and counts the collection", "events" in conn.table_names() and conn["events"].count == 2 * len(DOCS))
        conn.close()


def main():
    global T, apsw, sqlean, sqlite3, sqlite_utils
    import apsw
    import sqlean
    import sqlite3
    import sqlite_utils
    from harness import Tally
    T = Tally()
    installed = sqlite_shards.loadable_path()
    check("the installed package's library is shards.so, loaded by its name",
          os.path.isabs(installed) and installed.endswith("/shards") and os.path.isfile(installed + ".so"), installed)
    host_checks()
    sqlite_utils_checks()
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or not T.passed else 0


if __name__ == "__main__":
    sys.exit(main())
