"""What only a host with its own, newer SQLite can show: Python's apsw (SQLite
3.45+, so documents are stored as JSONB). Run from the repository root:

    .venv/bin/python Tests/python/test_host.py

(The Tests/sql/ cases run in apsw too, through Tests/python/sql_cases.py.) It checks how
documents are stored, what the doc column returns, indexes over JSONB, that a JSONB
collection opened by the system sqlite3 shell (an older SQLite) fails with an error
naming both versions, and how the library behaves as a guest of a host (exactly
which functions and modules loading adds, failed statements, defensive mode).
Prints one line per group and a final `N passed, M failed`; exits 1 on any failure.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import apsw

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")
SHELL = os.environ.get("SQLITE3", "sqlite3")



class Tally:
    """Counts cases per group and in total; keeps the failures to print."""

    def __init__(self):
        self.passed = self.failed = 0
        self.group = None

    def start(self, name):
        self.group = [name, 0, 0, []]

    def check(self, ok, what, detail=""):
        if ok:
            self.group[1] += 1
        else:
            self.group[2] += 1
            self.group[3].append(f"{what}: {detail}" if detail else what)
        return ok

    def end(self):
        name, p, f, notes = self.group
        self.passed += p
        self.failed += f
        if f == 0 and p > 0:
            print(f"ok    {name:<34} {p} cases")
        else:
            print(f"FAIL  {name:<34} {p} passed, {f} failed")
            for n in notes or ["no cases"]:
                print("        " + n.replace("\n", "\n        "))
            if p == 0 and f == 0:
                self.failed += 1


T = Tally()


def connect(path=":memory:"):
    conn = apsw.Connection(path)
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    return conn


# --- checks only a JSONB host can make -------------------------------------------

DOCS = [
    '{"ts":"2025-01-10T08:00:00Z","type":"click","user":{"id":1}}',
    '{ "ts" : "2025-01-11T08:00:00Z" , "type" : "view", "user": {"id": 2}, "tags": [1, 2, 3] }',
    '{"ts":1736668800000,"type":"buy","price":1.50,"big":1e2,"neg":-0.0,"user":{"id":2}}',
    '{"ts":"2025-01-13T08:00:00Z","type":"caf\\u00e9","text":"line\\nbreak \\"quoted\\"","emoji":"\U0001F600"}',
    '{"ts":"2025-02-01T00:00:00+01:00","type":"view","user":{"id":3},"nested":{"a":{"b":[{"c":null}]}}}',
    '{"ts":"2025-02-02T00:00:00Z","type":null,"user":{"id":"3"}}',
]


def jsonb_checks():
    T.start("JSONB storage (apsw)")
    conn = connect()
    debug = conn.execute("select shards_debug()").fetchone()[0]
    T.check("jsonb on" in debug.splitlines(), "shards_debug says jsonb on", debug)
    version = conn.execute("select sqlite_version()").fetchone()[0]
    T.check(f"sqlite {version}" in debug.splitlines(), "shards_debug names the SQLite in use", debug)

    conn.execute("create virtual table ev using shards(time = '$.ts', max_rows = 2, index = '$.type', index = 'user: $.user.id')")
    conn.execute("create table plain(doc text)")
    for d in DOCS:
        conn.execute("insert into ev(doc) values (?)", (d,))
        conn.execute("insert into plain(doc) values (?)", (d,))
    q = lambda sql, *a: conn.execute(sql, a).fetchall()

    T.check(q("select value from ev_config where key = 'storage'") == [("jsonb",)], "storage recorded as jsonb")
    for storage, want in [("auto", "jsonb"), ("jsonb", "jsonb"), ("text", "text"), ("TEXT", "text")]:
        conn.execute(f"create virtual table st using shards(storage = {storage})")
        T.check(q("select value from st_config where key = 'storage'") == [(want,)], f"storage = {storage} stores {want}")
        conn.execute("drop table st")
    tables = [r[0] for r in q("select tbl from shard_list('ev')")]
    T.check(len(tables) >= 3, "documents spread over several shards", repr(tables))
    types = set()
    for t in tables:
        types |= {r[0] for r in q(f'select typeof(doc) from "{t}"')}
        decl = q(f"select type from pragma_table_info('{t}') where name = 'doc'")
        T.check(decl == [("BLOB",)], f"{t}.doc is declared BLOB", repr(decl))
    T.check(types == {"blob"}, "every shard stores doc as a JSONB blob", repr(types))
    # The blobs are valid JSONB of the same documents.
    for t in tables:
        bad = q(f'select count(*) from "{t}" where json_valid(doc, 8) = 0')[0][0]
        T.check(bad == 0, f"{t}: every doc is valid JSONB")

    # The doc column is JSON text, equal to json(original), for every document.
    for d in DOCS:
        got = q("select doc, typeof(doc) from ev where id = (select id from ev e join plain p on json(p.doc) = e.doc where p.doc = ?)", d)
        want = q("select json(?)", d)[0][0]
        T.check(got == [(want, "text")], f"doc column returns json(original) for {d[:40]}...", f"{got!r} != {want!r}")
    T.check(q("select count(*) from ev e join plain p on e.doc = json(p.doc)")[0][0] == len(DOCS),
            "every doc joins with json(original)")
    T.check(q("select count(*) from ev where typeof(doc) != 'text'")[0][0] == 0, "doc is always text")
    # Index columns and json_extract on doc agree with the plain table.
    cmp = [
        ("select json_extract(doc, '$.ts') from ev where type = 'view' order by id",
         "select json_extract(doc, '$.ts') from plain where json_extract(doc, '$.type') = 'view' order by rowid"),
        ("select count(*) from ev where user = 2", "select count(*) from plain where json_extract(doc, '$.user.id') = 2"),
        ("select count(*) from ev where user = '3'", "select count(*) from plain where json_extract(doc, '$.user.id') = '3'"),
        ("select count(*) from ev where type is null", "select count(*) from plain where json_extract(doc, '$.type') is null"),
        ("select count(*) from ev where user in (1, 3)", "select count(*) from plain where json_extract(doc, '$.user.id') in (1, 3)"),
        ("select json_extract(doc, '$.price'), json_extract(doc, '$.big'), json_extract(doc, '$.text'), json_extract(doc, '$.emoji') from ev order by id",
         "select json_extract(doc, '$.price'), json_extract(doc, '$.big'), json_extract(doc, '$.text'), json_extract(doc, '$.emoji') from plain order by rowid"),
        ("select type, typeof(user) from ev order by id", "select json_extract(doc, '$.type'), typeof(json_extract(doc, '$.user.id')) from plain order by rowid"),
        ("select doc -> '$.nested.a' from ev where doc -> '$.nested' is not null", "select doc -> '$.nested.a' from plain where doc -> '$.nested' is not null"),
    ]
    for a, b in cmp:
        T.check(q(a) == q(b), f"same as plain: {a}", f"{q(a)!r} != {q(b)!r}")
    # Each shard's functional index is usable by its planner over the JSONB column.
    for t in tables:
        plan = " ".join(r[3] for r in q(f"explain query plan select id from \"{t}\" where json_extract(doc, '$.type') = ?", "view"))
        T.check(f"INDEX {t}_type" in plan, f"{t}: json_extract(doc, '$.type') = ? uses the index", plan)
    # ensure_json_index over JSONB shards
    n = q("select ensure_json_index('ev', '$.nested.a')")[0][0]
    T.check(n == len(tables), "ensure_json_index returns the number of shards", repr(n))
    T.check(q("select ensure_json_index('ev', '$.nested.a')")[0][0] == 0, "ensure_json_index then returns 0")
    t = tables[-1]
    plan = " ".join(r[3] for r in q(f"explain query plan select id from \"{t}\" where json_extract(doc, '$.nested.a') = ?", 1))
    T.check(re.search(r"USING (COVERING )?INDEX", plan) is not None, "the ensured index is usable", plan)
    # Updates keep JSONB storage and text output.
    conn.execute("update ev set doc = json_set(doc, '$.type', 'seen') where type = 'view'")
    T.check(q("select count(*) from ev where type = 'seen'")[0][0] == 2, "update through the index column")
    T.check({r[0] for t in tables for r in q(f'select typeof(doc) from "{t}"')} == {"blob"}, "updated docs are still blobs")
    # A JSONB value as input is accepted as the same document.
    conn.execute("insert into ev(doc) values (jsonb(?))", ('{"ts":"2025-01-20T00:00:00Z","type":"jb","user":{"id":9}}',))
    T.check(q("select doc, user from ev where type = 'jb'") == [('{"ts":"2025-01-20T00:00:00Z","type":"jb","user":{"id":9}}', 9)],
            "a jsonb() argument stores the same document")
    # Bulk through shard_insert over json_each.
    ids = q("select shard_insert('ev', value) from json_each(?)",
            '[{"ts":"2025-03-01T00:00:00Z","type":"bulk"},{"ts":"2025-03-02T00:00:00Z","type":"bulk"},{"ts":"2025-03-03T00:00:00Z","type":"bulk"}]')
    T.check(len(ids) == 3 and q("select count(*) from ev where type = 'bulk'")[0][0] == 3, "bulk shard_insert", repr(ids))
    conn.close()
    T.end()


def shell_version():
    out = subprocess.run([SHELL, "--version"], capture_output=True, text=True).stdout.split()
    return out[0] if out else "?"


def run_shell(db, sql):
    return subprocess.run([SHELL, db], input=f".load {LIB}\n{sql}\n", capture_output=True, text=True, cwd=ROOT)


def cross_version_checks():
    T.start("JSONB file in the sqlite3 shell")
    old = shell_version()
    new = apsw.sqlite_lib_version()
    if tuple(int(x) for x in old.split(".")[:2]) >= (3, 45):
        T.check(False, f"the system sqlite3 is {old}; this check needs one older than 3.45")
        T.end()
        return
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "jsonb.db")
        conn = connect(path)
        conn.execute("create virtual table events using shards(time = '$.ts', index = '$.type')")
        conn.execute("""insert into events(doc) values ('{"ts":"2025-01-10T08:00:00Z","type":"a"}')""")
        conn.close()

        r = run_shell(path, "select count(*) from events;")
        T.check(r.returncode != 0 and r.stdout == "", "reading it fails", f"rc={r.returncode} out={r.stdout!r}")
        T.check("3.45" in r.stderr and old in r.stderr, f"the error names 3.45 and {old}", r.stderr.strip())
        T.check(new in r.stderr and "JSONB" in r.stderr, f"the error says JSONB and names {new}", r.stderr.strip())
        for sql in ["insert into events(doc) values ('{\"ts\":1}');",
                    "select * from shard_list('events');",
                    "select shard_key('events', 0);"]:
            r = run_shell(path, sql)
            T.check(r.returncode != 0 and r.stdout == "" and r.stderr.startswith(("Parse error", "Runtime error", "Error")),
                    f"fails cleanly: {sql}", f"rc={r.returncode} out={r.stdout!r} err={r.stderr.strip()!r}")
        # Nothing was changed by the refused statements.
        conn = connect(path)
        T.check(conn.execute("select count(*) from events").fetchone()[0] == 1, "the JSONB collection is intact")
        conn.close()

        # shard_storage(..., 'text') is the way out: every document rewritten as text,
        # in one transaction, and the old shell reads the file. A second connection that
        # had the collection open writes text from its next statement.
        conn = connect(path)
        other = connect(path)
        conn.execute("select shard_insert('events', value) from json_each(?)",
                     ('[' + ','.join('{"ts":"2025-0%d-1%dT08:00:00Z","type":"t%d"}' % (1 + i % 3, i % 10, i) for i in range(30)) + ']',)).fetchall()
        T.check(conn.execute("select shard_compress('events', '2025-02-01')").fetchone()[0] == 11, "a month compressed first")
        T.check(other.execute("select count(*) from events").fetchone()[0] == 31, "the other connection reads the JSONB collection")
        conn.execute("begin")
        rewritten = conn.execute("select shard_storage('events', 'text')").fetchone()[0]
        T.check(rewritten == 20, "shard_storage returns the rows it rewrote (hot ones: compressed blocks hold text already)", repr(rewritten))
        conn.execute("rollback")
        T.check(conn.execute("select value from events_config where key = 'storage'").fetchone() == ("jsonb",),
                "a ROLLBACK keeps JSONB")
        T.check(conn.execute("select shard_storage('events', 'text')").fetchone()[0] == 20, "then it commits")
        T.check(conn.execute("select shard_storage('events', 'text')").fetchone()[0] == 0, "and a second call has nothing to do")
        other.execute("""insert into events(doc) values ('{"ts":"2025-03-20T08:00:00Z","type":"late"}')""")
        tables = [r[0] for r in conn.execute("select tbl from shard_list('events') where state != 'compressed'")]
        kinds = {r[0] for t in tables for r in conn.execute(f'select typeof(doc) from "{t}"')}
        T.check(kinds == {"text"}, "every stored document is text, the other connection's new one too", repr(kinds))
        conn.close()
        other.close()
        r = run_shell(path, "select count(*), count(distinct type) from events;\n"
                            "select doc from events where type = 't4';\n"
                            "insert into events(doc) values ('{\"ts\":\"2025-04-01\",\"type\":\"shell\"}');\n"
                            "select count(*) from events;")
        T.check(r.stdout.split() == ["32|32", '{"ts":"2025-02-14T08:00:00Z","type":"t4"}', "33"] and r.stderr == "",
                f"the {old} shell reads and writes it after shard_storage", r.stdout + r.stderr)
        conn = connect(path)
        T.check(conn.execute("select shard_storage('events', 'jsonb')").fetchone()[0] == 22
                and conn.execute("select count(*) from events where type = 'shell'").fetchone()[0] == 1,
                "and back to JSONB")
        conn.close()

        # Archived shards live in other files, outside the caller's transaction: refused.
        path4 = os.path.join(d, "arch.db")
        conn = connect(path4)
        conn.execute("create virtual table a using shards(time = '$.ts')")
        conn.execute("""insert into a(doc) values ('{"ts":"2025-01-10T08:00:00Z"}'), ('{"ts":"2025-03-10T08:00:00Z"}')""")
        conn.execute("select shard_archive('a', '2025-02-01', 'arch-cold.db')")
        try:
            conn.execute("select shard_storage('a', 'text')")
            T.check(False, "shard_storage refuses a collection with archived shards")
        except apsw.Error as e:
            T.check("has 1 archived shard(s) (in arch-cold.db)" in str(e), "shard_storage refuses a collection with archived shards", str(e))
        T.check(conn.execute("select value from a_config where key = 'storage'").fetchone() == ("jsonb",)
                and conn.execute("select typeof(doc) from \"a_2025-03-001\"").fetchone() == ("blob",), "and changes nothing")
        conn.close()

        # The other way round: a text collection made by the old shell reads and grows in apsw.
        path2 = os.path.join(d, "text.db")
        r = run_shell(path2, "create virtual table events using shards(time = '$.ts', index = '$.type');\n"
                             "insert into events(doc) values ('{\"ts\":\"2025-01-10T08:00:00Z\",\"type\":\"a\"}');")
        T.check(r.returncode == 0 and r.stderr == "", "the shell creates a text collection", r.stderr)
        conn = connect(path2)
        q = lambda sql: conn.execute(sql).fetchall()
        T.check(q("select value from events_config where key = 'storage'") == [("text",)], "storage recorded as text")
        conn.execute("""insert into events(doc) values ('{"ts":"2025-02-10T08:00:00Z","type":"b"}')""")
        T.check(q("select type from events order by id") == [("a",), ("b",)], "apsw reads and writes the text collection")
        T.check(q("select typeof(doc) from \"events_2025-02-001\"") == [("text",)], "new shards of a text collection stay text")
        conn.close()
        r = run_shell(path2, "select count(*) from events;")
        T.check(r.stdout.strip() == "2" and r.stderr == "", "the shell reads it back", r.stdout + r.stderr)

        # storage = text: a collection made by this newer SQLite opens and works in the old shell.
        path3 = os.path.join(d, "portable.db")
        conn = connect(path3)
        conn.execute("create virtual table events using shards(time = '$.ts', max_rows = 2, index = 'user: $.user.id integer', storage = text, merge = none)")
        for i in range(5):
            conn.execute("insert into events(doc) values (?)", (f'{{"ts":"2025-01-1{i}T08:00:00Z","user":{{"id":{i % 2}}}}}',))
        q = lambda sql: conn.execute(sql).fetchall()
        T.check(q("select value from events_config where key = 'storage'") == [("text",)], "storage = text recorded as text")
        tables = [r[0] for r in q("select tbl from shard_list('events')")]
        T.check(all(q(f'select typeof(doc) from "{t}"') and {r[0] for r in q(f'select typeof(doc) from "{t}"')} == {"text"} for t in tables),
                "storage = text stores text under SQLite " + new, repr(tables))
        conn.close()
        r = run_shell(path3, "select count(*), sum(user = '1') from events;\n"
                             "insert into events(doc) values ('{\"ts\":\"2025-02-01\",\"user\":{\"id\":1}}');\n"
                             "select count(*) from events where user = '1';\n"
                             "select count(*) from shard_list('events');")
        T.check(r.stdout.split() == ["5|2", "3", "4"] and r.stderr == "",
                f"the {old} shell reads, queries and writes a storage = text collection made by {new}", r.stdout + r.stderr)
        r = run_shell(os.path.join(d, "j.db"), "create virtual table j using shards(storage = jsonb);")
        T.check(r.returncode != 0 and "storage = jsonb needs SQLite 3.45.0 or newer; this SQLite is " + old in r.stderr,
                "storage = jsonb is refused by the old shell, naming its version", r.stderr.strip())
    finally:
        shutil.rmtree(d, ignore_errors=True)
    T.end()


# docs/functions.md, shards_explain (the plan viewer the routing work asked for), and the
# sketch aggregates (docs/rollups.md).
FUNCTIONS = {"ensure_json_index/2", "shard_storage/2", "shard_insert/2", "shard_key/2", "shards_debug/0", "shards_version/0",
             "shard_flush/1", "shard_drop/2", "shard_archive/3", "shard_compress/2", "shard_merge/2", "shard_rollup_refresh/1",
             "shards_explain/2", "shards_distinct/1", "shards_quantile/2", "shards_distinct_state/1", "shards_quantile_state/1",
             "shards_distinct_merge/1", "shards_quantile_merge/1"}


def host_checks():
    T.start("host behaviour (apsw)")
    # Loading adds exactly these functions and modules.
    plain = apsw.Connection(":memory:")
    f0 = set(plain.execute("select name || '/' || narg from pragma_function_list").fetchall())
    m0 = set(plain.execute("select name from pragma_module_list").fetchall())
    conn = connect()
    f1 = set(conn.execute("select name || '/' || narg from pragma_function_list").fetchall())
    m1 = set(conn.execute("select name from pragma_module_list").fetchall())
    added = {r[0] for r in f1 - f0}
    T.check(added == FUNCTIONS, "loading adds exactly the documented functions", repr(sorted(added ^ FUNCTIONS)))
    T.check(sorted(r[0] for r in m1 - m0) == ["shard_list", "shards", "shards_block", "shards_rollup"], "loading adds the four modules",
            repr(m1 - m0))
    T.check(f1 >= f0 and m1 >= m0, "loading removes nothing")
    plain.close()

    # A failed multi-row INSERT writes nothing, in autocommit and inside BEGIN ... COMMIT.
    conn.execute("create virtual table a using shards(time = '$.ts', max_rows = 2)")
    conn.execute("""insert into a(doc) values ('{"ts":"2025-01-01T00:00:00Z"}')""")
    bad = '[{"ts":"2025-01-02T00:00:00Z"},{"ts":"2025-05-02T00:00:00Z"},{"ts":"2025-01-03T00:00:00Z"},"oops"]'
    for label, begin in (("autocommit", False), ("transaction", True)):
        if begin:
            conn.execute("begin")
        try:
            conn.execute("insert into a(doc) select value from json_each(?)", (bad,))
            T.check(False, f"{label}: the bad INSERT fails")
        except apsw.Error as e:
            T.check("shards: malformed JSON document" in str(e), f"{label}: the bad INSERT fails", str(e))
        if begin:
            conn.execute("commit")
        listing = conn.execute("select shard, rows from shard_list('a')").fetchall()
        T.check(listing == [("a:2025:01:001", 1)], f"{label}: nothing of it is left", repr(listing))
        T.check(conn.execute("select count(*) from a").fetchone()[0] == 1, f"{label}: one row")
        T.check(conn.execute("select count(*) from sqlite_schema where name like 'a_2025_05%'").fetchone()[0] == 0,
                f"{label}: no shard table left")
    conn.execute("""insert into a(doc) values ('{"ts":"2025-01-04T00:00:00Z"}')""")
    T.check(conn.execute("select group_concat(id & 255) from (select id from a order by id)").fetchone()[0] in ("1,2", "1,4", "1,3"),
            "ids go on after the failed statements")
    T.check(conn.execute("select rows from shard_list('a')").fetchone()[0] == 2, "counter after the failed statements")

    # Two connections on one file: each sees the other's committed shards and rows.
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "two.db")
        c1, c2 = connect(path), connect(path)
        c1.execute("create virtual table t using shards(time = '$.ts', max_rows = 2, index = '$.k')")
        c1.execute("""insert into t(doc) values ('{"ts":"2025-01-01T00:00:00Z","k":1}')""")
        T.check(c2.execute("select count(*) from t").fetchone()[0] == 1, "second connection reads the first's row")
        c2.execute("""insert into t(doc) values ('{"ts":"2025-01-02T00:00:00Z","k":2}'), ('{"ts":"2025-01-03T00:00:00Z","k":3}')""")
        T.check(c1.execute("select group_concat(shard || '=' || rows, ' ') from shard_list('t')").fetchone()[0]
                == "t:2025:01:001=2 t:2025:01:002=1", "first connection sees the second's split")
        c1.execute("""insert into t(doc) values ('{"ts":"2025-01-04T00:00:00Z","k":4}')""")
        T.check(c2.execute("select group_concat(k) from (select k from t order by id)").fetchone()[0] == "1,2,3,4",
                "ids stay unique across connections")
        T.check(c2.execute("select count(distinct id) from t").fetchone()[0] == 4, "four distinct ids")
        c1.close()
        c2.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)

    # Defensive mode: shadow tables cannot be written directly; the collection still can.
    conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
    conn.execute("create virtual table dfn using shards(partition = none)")
    try:
        conn.execute("""insert into dfn(doc) values ('{"a":1}')""")
        T.check(True, "")
    except apsw.Error as e:
        T.check(False, "defensive mode: INSERT through the collection works", str(e))
    for sql in ["delete from dfn_shards", "update dfn_config set value = 'x'", "insert into dfn_001(id, ts, doc) values (5, 0, '{}')"]:
        try:
            conn.execute(sql)
            T.check(False, f"defensive mode refuses: {sql}")
        except apsw.Error as e:
            T.check("may not be modified" in str(e) or "read-only" in str(e) or "readonly" in str(e).lower(),
                    f"defensive mode refuses: {sql}", str(e))
    conn.close()
    T.end()


def shadow_checks():
    """docs/collections.md, "How it is laid out": every table a collection keeps (catalog, shards of every kind, compressed
    blocks) is a shadow table by SQLite's rule, so PRAGMA table_list says `shadow` and
    defensive mode refuses plain-SQL writes to them, while the collection's own writes
    (new shards, updates, deletes, compress, drop, a buffer flushed at close) work."""
    T.start("shadow tables, defensive mode (apsw)")
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "shadow.db")
        conn = connect(path)
        conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
        q = lambda sql, *a: conn.execute(sql, a).fetchall()
        conn.execute("create virtual table ev using shards(time = '$.ts', category = '$.app', max_rows = 2, index = '$.type', buffer = 100)")
        conn.execute("create table ev_notes(x)")   # a user's own table with a similar name
        docs = [f'{{"ts":"2025-0{m}-1{i}","app":"{app}","type":"t{i}"}}' for m in (1, 2) for app in ("web", "my_app") for i in range(3)]
        try:
            conn.execute("begin")
            for doc in docs:
                conn.execute("insert into ev(doc) values (?)", (doc,))
            conn.execute("commit")
            T.check(q("select count(*) from ev") == [(len(docs),)], "defensive mode: inserts through the collection make their shards")
            T.check(q("select shard_compress('ev', '2025-02-01')") == [(6,)], "defensive mode: shard_compress works")
            conn.execute("update ev set doc = json_set(doc, '$.type', 'u') where type = 't0' and ts >= 1738368000000")
            conn.execute("delete from ev where type = 't1' and ts >= 1738368000000")
            T.check(q("select count(*), sum(type = 'u') from ev") == [(len(docs) - 2, 2)], "defensive mode: UPDATE and DELETE through the collection work")
        except apsw.Error as e:
            T.check(False, "defensive mode: the collection's own writes work", str(e))
        tables = [r[0] for r in q("select tbl from shard_list('ev') where state != 'compressed'")]
        blocks = [r[0] for r in q("select name from sqlite_schema where type = 'table' and name like 'ev\\_%-z' escape '\\'")]
        T.check(len(tables) >= 4 and len(blocks) >= 4, "shards of several kinds, some compressed", repr(tables + blocks))
        kinds = dict(q("select name, type from pragma_table_list where schema = 'main'"))
        ours = ["ev_config", "ev_shards"] + tables + blocks
        T.check(all(kinds.get(t) == "shadow" for t in ours), "PRAGMA table_list lists catalog, shard and block tables as shadow",
                repr({t: kinds.get(t) for t in ours}))
        T.check(kinds.get("ev") == "virtual" and kinds.get("ev_notes") == "table", "the collection is virtual, a user's table stays a table",
                repr((kinds.get("ev"), kinds.get("ev_notes"))))
        T.check(sorted(n for n, t in kinds.items() if t == "shadow") == sorted(ours), "no other table is shadow")
        hot = tables[0]
        attempts = []
        for t in ["ev_config", "ev_shards", hot, blocks[0]]:
            attempts += [f'delete from "{t}"', f'update "{t}" set rowid = rowid', f'drop table "{t}"']
        attempts.append(f'insert into "{hot}"(id, ts, doc) values (1, 0, \'{{}}\')')
        for sql in attempts:
            try:
                conn.execute(sql)
                T.check(False, f"defensive mode refuses: {sql}")
            except apsw.Error as e:
                T.check("may not be modified" in str(e) or "may not be dropped" in str(e), f"defensive mode refuses: {sql}", str(e))
        conn.execute("insert into ev_notes values (1)")
        # Buffered documents are written when the connection closes, still in defensive mode.
        conn.execute("""insert into ev(doc) values ('{"ts":"2025-03-01","app":"web"}')""")
        conn.close()
        conn = connect(path)
        T.check(conn.execute("select count(*) from ev").fetchone()[0] == len(docs) - 1, "a buffer flushed at close in defensive mode is written")
        conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
        try:
            conn.execute("select shard_drop('ev', '2025-02-01')")
            conn.execute("drop table ev")
            T.check(conn.execute("select count(*) from sqlite_schema where name like 'ev\\_%' escape '\\' and name != 'ev_notes'").fetchone()[0] == 0,
                    "defensive mode: shard_drop and DROP TABLE remove every table of the collection")
        except apsw.Error as e:
            T.check(False, "defensive mode: shard_drop and DROP TABLE work", str(e))
        conn.close()

        # The same in the system's sqlite3 shell (an older SQLite, text storage).
        T.end()
        T.start(f"shadow tables, defensive mode ({shell_version()} shell)")
        path = os.path.join(d, "shell.db")
        r = run_shell(path, ".dbconfig defensive on\n"
                            "create virtual table ev using shards(time = '$.ts', category = '$.app', max_rows = 1);\n"
                            "insert into ev(doc) values ('{\"ts\":\"2025-01-01\",\"app\":\"a_b\"}'), ('{\"ts\":\"2025-01-02\",\"app\":\"a_b\"}');\n"
                            "select shard_compress('ev', '2025-02-01');\n"
                            "insert into ev(doc) values ('{\"ts\":\"2025-03-01\",\"app\":\"x\"}');\n"
                            "select count(*) from ev;\n"
                            "select count(*) from pragma_table_list where type = 'shadow';\n"
                            "select count(*) from sqlite_schema where type = 'table' and name like 'ev\\_%' escape '\\';")
        T.check(r.stdout.split() == ["defensive", "on", "2", "3", "5", "5"] and r.stderr == "",
                "the collection's own writes work; catalog, shard and block tables are all shadow", r.stdout + r.stderr)
        shadow = run_shell(path, "select name from pragma_table_list where type = 'shadow';").stdout.split()
        T.check(len(shadow) == 5 and any(t.endswith("-z") for t in shadow), "the shell lists them", repr(shadow))
        for t in shadow:
            r = run_shell(path, f'.dbconfig defensive on\ndelete from "{t}";')
            T.check(r.returncode != 0 and "may not be modified" in r.stderr, f"defensive mode refuses: delete from {t}", r.stderr.strip())
        r = run_shell(path, "select count(*) from ev;")
        T.check(r.stdout.strip() == "3", "nothing was deleted", r.stdout + r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    T.end()


def main():
    os.chdir(ROOT)
    if not os.path.exists(LIB + ".so"):
        print(f"{LIB}.so is missing; run: swift build -c release")
        return 2
    jsonb_checks()
    cross_version_checks()
    host_checks()
    shadow_checks()
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed or T.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
