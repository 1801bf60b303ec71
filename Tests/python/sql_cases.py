"""The SQL cases of Tests/sql/, run in two hosts: the system sqlite3 shell and Python's
apsw (which carries its own, newer SQLite, so documents are stored as JSONB there).
One parser of the format, one set of rules, a small adapter per host.

    python3 Tests/python/sql_cases.py [--host shell|apsw|both] [file.sql ...]

The default is both hosts (apsw comes from the venv: `scripts/python-env`, then
`.venv/bin/python`); `scripts/test-sql` runs the shell only, with any python3.

The format, sqlean style:
  Tests/sql/*.sql   case files: every row they return must be `<case-id>|1`, every
                    `select '<case-id>', ...` line must return its row once, and no
                    statement may fail. A first line `-- db: file` runs the file on a
                    temporary database file instead of :memory:.
  Tests/sql/errors/*.sql  error files: the text before the first `-- expect: <text>` line is
                    setup and must succeed; each block after such a line must fail with
                    a message containing <text>. Each block runs on a fresh database
                    after the setup, so one case cannot hide another. Then all blocks
                    run on one connection: the setup's table x (if any) must survive
                    them with its rows.
  examples/tour.sql the README's tour: run twice on one database file (it must be
                    re-runnable), printing something and failing nowhere.

Prints one line per file and host, then `N passed, M failed` (cases); exits 1 on
any failure.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")

CASE_LINE = re.compile(r"^\s*select\s+'([^'|]+)',", re.I | re.M)
EXPECT_LINE = re.compile(r"^--\s*expect:\s*(.*\S)\s*$")
FILE_DB = re.compile(r"^--\s*db:\s*file\s*$")


# --- the format ------------------------------------------------------------------

class CaseFile:
    """One file of Tests/sql/, parsed: what kind it is and what it expects."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.relpath(path, ROOT)
        self.text = open(path).read()
        first = self.text.splitlines()[0] if self.text else ""
        self.file_db = FILE_DB.match(first) is not None
        base = os.path.basename(path)
        parent = os.path.basename(os.path.dirname(path))
        self.kind = "demo" if base == "tour.sql" else "errors" if parent == "errors" else "cases"
        self.case_ids = CASE_LINE.findall(self.text)
        # Error files: setup text, then (expected text, block text) per `-- expect:`.
        setup, self.blocks, current = [], [], None
        for line in self.text.splitlines():
            m = EXPECT_LINE.match(line)
            if m:
                current = [m.group(1), []]
                self.blocks.append(current)
            elif current is None:
                setup.append(line)
            else:
                current[1].append(line)
        self.setup = "\n".join(setup) + "\n"
        self.blocks = [(expect, "\n".join(lines) + "\n") for expect, lines in self.blocks]


class Database:
    """A fresh database for one run: :memory:, or a file in a temporary directory."""

    def __init__(self, file):
        self.dir = tempfile.mkdtemp() if file else None
        self.path = os.path.join(self.dir, "case.db") if file else ":memory:"

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- the hosts -------------------------------------------------------------------
# Each host answers three questions: run a script and give back its rows and its
# errors; run setup then a block and say whether (and how) the block failed; run a
# script ignoring errors and give back the rows of a last query. The shell is one;
# ConnectionHost serves every Python host (apsw here; sqlite3, sqlean.py and
# pysqlite3 in Tests/python/test_wheel.py).

class ShellHost:
    name = "sqlite3"

    def __init__(self):
        self.shell = os.environ.get("SQLITE3", "sqlite3")

    def _run(self, db, sql, bail=False):
        args = [self.shell] + (["-bail"] if bail else []) + [db]
        # The files load the library themselves (`.load ./.build/release/libShardExt`).
        r = subprocess.run(args, input=sql, capture_output=True, text=True, cwd=ROOT)
        return r.returncode, r.stdout, r.stderr

    def script(self, db, sql):
        """Rows as `a|b` lines, and the error text ("" when none)."""
        rc, out, err = self._run(db, sql)
        errors = err.strip() or (f"sqlite3 exit {rc}" if rc else "")
        return out.splitlines(), errors

    def fails(self, db, setup, block):
        """(failed, message) of `block` after `setup`."""
        rc, _, err = self._run(db, setup + block, bail=True)
        return rc != 0, err.strip()

    def last_rows(self, db, sql, query):
        _, out, _ = self._run(db, sql + "\n" + query + ";\n")
        return out.splitlines()[-1:] if out else []


class ConnectionHost:
    """A Python host: `connect(path)` gives a connection with the library loaded whose
    `execute` runs one statement and yields rows (apsw, sqlite3, sqlean.py,
    pysqlite3); `complete(text)` says whether text ends a statement."""

    def __init__(self, name, connect, complete, error=Exception):
        self.name, self.connect, self.complete, self.error = name, connect, complete, error

    def statements(self, text):
        """SQL statements of a shell script, in order: dot-commands dropped, split where
        `complete` says a statement ends (a line with several statements stays one
        chunk)."""
        out, buf = [], ""
        for line in text.splitlines(keepends=True):
            if line.startswith(".") and not sql_in(buf):
                continue
            buf += line
            if self.complete(buf):
                out.append(buf.strip())
                buf = ""
        if sql_in(buf):
            out.append(buf.strip())
        return out

    @staticmethod
    def line(row):
        # As the shell prints a row: NULL empty, columns joined with |.
        return "|".join("" if v is None else str(v) for v in row)

    def script(self, db, sql):
        conn = self.connect(db)
        rows, errors = [], []
        try:
            for stmt in self.statements(sql):
                try:
                    rows += [self.line(r) for r in conn.execute(stmt)]
                except self.error as e:
                    errors.append(f"{e}\n  in: {stmt[:200]}")
        finally:
            conn.close()
        return rows, "\n".join(errors)

    def _first_error(self, conn, sql, stop=True):
        """Runs the statements of `sql`; the first error (None when none). With
        stop=False every statement runs, whatever fails."""
        first = None
        for stmt in self.statements(sql):
            try:
                list(conn.execute(stmt))
            except self.error as e:
                first = first or e
                if stop:
                    break
        return first

    def fails(self, db, setup, block):
        conn = self.connect(db)
        try:
            e = self._first_error(conn, setup)
            if e is not None:
                return True, f"setup failed: {e}"
            e = self._first_error(conn, block)
            return (True, str(e)) if e is not None else (False, "")
        finally:
            conn.close()

    def last_rows(self, db, sql, query):
        conn = self.connect(db)
        try:
            self._first_error(conn, sql, stop=False)
            try:
                return [self.line(r) for r in conn.execute(query)]
            except self.error:
                return []   # as the shell, which prints no row
        finally:
            conn.close()


def apsw_host():
    import apsw

    def connect(db):
        conn = apsw.Connection(db)
        conn.enable_load_extension(True)
        conn.load_extension(LIB)
        return conn
    return ConnectionHost("apsw", connect, apsw.complete, apsw.Error)


def sql_in(text):
    """Whether text holds more than blank lines and -- comments."""
    return any(l.strip() and not l.strip().startswith("--") for l in text.splitlines())


# --- the rules -------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def report(self, name, passed, notes):
        failed = len(notes)
        if passed + failed == 0:
            failed, notes = 1, ["no cases"]
        self.passed += passed
        self.failed += failed
        if failed == 0:
            print(f"ok    {name:<40} {passed} cases")
        else:
            print(f"FAIL  {name:<40} {passed} passed, {failed} failed")
            for n in notes:
                print("        " + n.replace("\n", "\n        "))


def run_cases(host, f):
    passed, notes = 0, []
    for dup in sorted({i for i in f.case_ids if f.case_ids.count(i) > 1}):
        notes.append(f"duplicate case id {dup}")
    expected, seen = set(f.case_ids), set()
    with Database(f.file_db) as db:
        rows, errors = host.script(db, f.text)
    for line in rows:
        m = re.match(r"^([^|]+)\|1$", line)
        if m and m.group(1) in expected and m.group(1) not in seen:
            seen.add(m.group(1))
            passed += 1
        else:
            notes.append(f"bad row: {line}")
            m = re.match(r"^([^|]+)\|", line)
            if m:
                seen.add(m.group(1))
    notes += [f"no row for case {i}" for i in f.case_ids if i not in seen]
    if errors:
        notes.append(f"errors:\n{errors}")
    return passed, notes


def run_errors(host, f):
    if not f.blocks:
        return 0, ["no '-- expect:' cases"]
    with Database(f.file_db) as db:
        _, errors = host.script(db, f.setup)
    if errors:
        return 0, [f"setup failed: {errors}"] * len(f.blocks)
    passed, notes = 0, []
    for expect, block in f.blocks:
        with Database(f.file_db) as db:
            failed, message = host.fails(db, f.setup, block)
        stmt = "\n".join(l for l in block.splitlines() if l.strip())[:200]
        if failed and expect in message:
            passed += 1
        elif not failed:
            notes.append(f"did not fail: {stmt}\n  expected: {expect}")
        else:
            notes.append(f"wrong error: {stmt}\n  expected: {expect}\n  got:      {message}")
    # All of them on one connection: the setup's table x, if any, is still there
    # with its rows, whatever they tried.
    everything = f.setup + "".join(b for _, b in f.blocks)
    with Database(f.file_db) as db:
        has_x = host.last_rows(db, f.setup, "select count(*) from sqlite_schema where name = 'x' and type = 'table'")
    if has_x == ["1"]:
        with Database(f.file_db) as db:
            before = host.last_rows(db, f.setup, "select count(*) from x")
        with Database(f.file_db) as db:
            after = host.last_rows(db, everything, "select count(*) from x")
        if after == before:
            passed += 1
        else:
            notes.append(f"table x did not keep its rows through the refused statements: {before} then {after}")
    return passed, notes


def run_demo(host, f):
    with Database(True) as db:
        for attempt in (1, 2):
            rows, errors = host.script(db, f.text)
            if errors:
                return 0, [f"run {attempt}: {errors}"]
            if not rows:
                return 0, [f"run {attempt} printed nothing"]
    return 1, []


RUNNERS = {"cases": run_cases, "errors": run_errors, "demo": run_demo}


def case_files_in(host, kinds=("cases",)):
    """Runs the Tests/sql/ files of `kinds` in `host`; returns (cases passed, failures)."""
    passed, failures = 0, []
    for path in default_files():
        f = CaseFile(path)
        if f.kind in kinds:
            p, notes = RUNNERS[f.kind](host, f)
            passed += p
            failures += [f"{f.name}: {n}" for n in notes]
    return passed, failures


def default_files():
    return sorted(glob.glob(os.path.join(ROOT, "Tests", "sql", "*.sql"))) + \
        sorted(glob.glob(os.path.join(ROOT, "Tests", "sql", "errors", "*.sql"))) + \
        [os.path.join(ROOT, "examples", "tour.sql")]


def run(hosts, paths, tally):
    for host in hosts:
        for path in paths:
            name = f"{os.path.relpath(path, ROOT)} ({host.name})"
            if not os.path.isfile(path):
                tally.report(name, 0, ["no such file"])
                continue
            f = CaseFile(path)
            tally.report(name, *RUNNERS[f.kind](host, f))


def main(argv):
    which, paths = "both", []
    args = iter(argv)
    for a in args:
        if a == "--host":
            which = next(args, "")
        else:
            paths.append(os.path.abspath(a))
    if which not in ("shell", "apsw", "both"):
        print("usage: sql_cases.py [--host shell|apsw|both] [file.sql ...]")
        return 2
    if not os.path.exists(LIB + ".so"):
        print(f"{LIB}.so is missing; run: swift build -c release")
        return 2
    hosts = []
    if which in ("shell", "both"):
        hosts.append(ShellHost())
    if which in ("apsw", "both"):
        try:
            hosts.append(apsw_host())
        except ImportError:
            print("apsw is not installed here: run scripts/python-env, then .venv/bin/python "
                  "Tests/python/sql_cases.py (or --host shell)")
            return 2
    tally = Tally()
    run(hosts, paths or default_files(), tally)
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 1 if tally.failed or tally.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
