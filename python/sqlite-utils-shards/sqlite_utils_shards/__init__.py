"""sqlite-utils plugin for shards collections.

- The extension itself is loaded into every connection sqlite-utils opens by the
  sqlite-utils hook of sqlite-shards, the package this one depends on (one hook, one
  load).
- `shards-create`: a collection from options (`--time`, `--index`, ...).
- `shards-insert`: NDJSON, a JSON array or CSV/TSV into a collection, each record one
  document, in one transaction, with a progress bar. A missing collection is an
  error: it never becomes a plain table.
- `shards-compress`, `shards-merge`: one `shard_compress` / `shard_merge` call per
  period of `shard_list`, oldest first, so a progress bar moves between them. Each
  call is a transaction of its own, so an interrupted run keeps the periods done.
  A maintenance command is a `Step` list, so another (a rollup refresh) is one
  planner more.
- `sqlite-utils tables` leaves out the shadow tables of collections and rollups
  (`--hidden` lists them): sqlite-utils has no notion of hidden tables, so the plugin
  filters `Database.table_names` for the length of that one command.
- `sqlite-utils insert` / `upsert` into a collection that fail on a column name say
  how to insert documents (`--convert '{"doc": row}'` or `shards-insert`).
"""
import contextlib
import csv
import functools
import io
import json
import os
import re
import sqlite3
import sys
import time
import urllib.parse
from dataclasses import dataclass

import click
import sqlite_utils
from sqlite_utils import hookimpl
from sqlite_utils.utils import Format, RowError, rows_from_file

import sqlite_shards

# Rows per executemany() call. 10,000 measured fastest of 100 / 1,000 / 10,000 /
# 50,000 (docs/hosts.md, "Batch size"); the whole load is one transaction either way.
BATCH_SIZE = 10_000

_VIRTUAL = re.compile(r"\s*create\s+virtual\s+table\s.*?\busing\s+(shards_rollup|shards)\s*(\(|$)", re.I | re.S)

# Shadow tables (PRAGMA table_list asks each module's xShadowName) of a collection
# or a rollup: the part of the name before its last '_' is the owner's name.
_SHADOW_SQL = r"""
select t.name from pragma_table_list as t
where t.schema = 'main' and t.type = 'shadow'
  and exists (select 1 from sqlite_master as m
              where m.type = 'table' and m.sql like 'create virtual table%using shards%'
                and t.name like replace(replace(m.name, '\', '\\'), '_', '\_') || '\_%' escape '\')
"""


def table_kind(conn, name):
    """'collection', 'rollup' or None (a plain table, a view, or nothing)."""
    row = conn.execute("select sql from sqlite_master where type = 'table' and name = ?", (name,)).fetchone()
    match = _VIRTUAL.match(row[0] or "") if row else None
    if not match:
        return None
    return "rollup" if match.group(1).lower() == "shards_rollup" else "collection"


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    return "'" + str(value).replace("'", "''") + "'"


def open_database(path):
    db = sqlite_utils.Database(path)
    if not hasattr(db.conn, "enable_load_extension"):
        raise click.ClickException("this Python's sqlite3 cannot load extensions; use a Python whose sqlite3 "
                                   "allows them (Debian's does)")
    return db


def require(conn, name, kind):
    found = table_kind(conn, name)
    if found == kind:
        return
    if found is None and conn.execute("select 1 from sqlite_master where name = ?", (name,)).fetchone():
        raise click.ClickException(f"{name} is not a shards {kind}: it is a plain table or view")
    if found is None:
        fix = f"; create it with: sqlite-utils shards-create DB {name} --time '$.ts'" if kind == "collection" else ""
        raise click.ClickException(f"no such {kind}: {name}{fix}")
    raise click.ClickException(f"{name} is a shards {found}, not a {kind}")


def to_ms(conn, value):
    """A time option (`--before`) as Unix ms: digits are ms, anything else a time string."""
    if re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    ms = conn.execute("select cast(round((julianday(?) - 2440587.5) * 86400000.0) as integer)", (value,)).fetchone()[0]
    if ms is None:
        raise click.BadParameter(f"{value!r} is not a time: give Unix ms or a time string such as 2025-04-01 "
                                 "or 2025-04-01T00:00:00Z (UTC)", param_hint="--before")
    return ms


# --- progress bars, on stderr so that stdout stays data ----------------------------

class _NoBar:
    def update(self, n, item=None):
        pass


@contextlib.contextmanager
def progress(length, label, silent, **kwargs):
    if silent:
        yield _NoBar()
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, **kwargs) as bar:
        yield bar


class _CountingReader(io.RawIOBase):
    """A binary file that reports each read's bytes; buffered, it peeks and decodes
    as rows_from_file needs."""

    def __init__(self, raw, update):
        self._raw, self._update = raw, update

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self._raw.readinto(buffer)
        if n:
            self._update(n)
        return n


@contextlib.contextmanager
def read_progress(file, label, silent):
    """`file` read through a bar of its bytes (not for stdin, whose size is unknown)."""
    if silent or file.fileno() == 0:
        yield file
        return
    with progress(os.path.getsize(file.name), label, False) as bar:
        yield io.BufferedReader(_CountingReader(file, bar.update))


# --- shards-create ----------------------------------------------------------------

CREATE_OPTIONS = [
    # (click name, module option, help)
    ("partition", "partition", "none | year | month | day | hour (default month)"),
    ("time", "time", "JSON path of each document's time, e.g. '$.ts'"),
    ("time_unit", "time_unit", "ms | s: how a number at the time path reads"),
    ("category", "category", "JSON path of a field that splits shards further"),
    ("max_rows", "max_rows", "a shard splits at this many rows (default 100000)"),
    ("buffer", "buffer", "documents a connection buffers before writing (default 0)"),
    ("flush_ms", "flush_ms", "the longest a buffered document waits (default 1000)"),
    ("retain", "retain", "e.g. '90 days': older shards are dropped as new periods begin"),
    ("storage", "storage", "auto | jsonb | text"),
    ("merge", "merge", "auto | none"),
    ("merge_rows", "merge_rows", "the most rows a merged table takes"),
]


def create_sql(name, values, indexes, extra, if_not_exists):
    """The CREATE VIRTUAL TABLE statement: every value quoted, the extension checks them."""
    args = [f"{option} = {quote_literal(values[key])}" for key, option, _ in CREATE_OPTIONS if values.get(key) is not None]
    args += [f"index = {quote_literal(index)}" for index in indexes]
    for pair in extra:
        key, eq, value = pair.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE, e.g. -o merge=none", param_hint="--option")
        args.append(f"{key.strip()} = {quote_literal(value.strip())}")
    exists = "if not exists " if if_not_exists else ""
    return f"create virtual table {exists}{quote_identifier(name)} using shards({', '.join(args)})"


def create_command(cli):
    @cli.command(name="shards-create")
    @click.argument("path", type=click.Path(dir_okay=False, allow_dash=False))
    @click.argument("collection")
    @click.option("--index", "indexes", multiple=True,
                  help="repeatable: '$.type', 'user: $.user.id integer' (a column per index)")
    @click.option("-o", "--option", "extra", multiple=True, metavar="KEY=VALUE", help="any other module option")
    @click.option("--if-not-exists", is_flag=True, help="do nothing when the collection exists")
    def shards_create(path, collection, indexes, extra, if_not_exists, **values):
        """Create a shards collection: a table of JSON documents split into shard
        tables by time.

        \b
            sqlite-utils shards-create events.db events --time '$.ts' \\
              --index '$.type' --index 'user: $.user.id integer'
        """
        db = open_database(path)
        sql = create_sql(collection, values, indexes, extra, if_not_exists)
        try:
            db.conn.execute(sql)
        except sqlite3.Error as e:
            raise click.ClickException(f"{e}\n\nsql = {sql}")

    for key, _, help_text in reversed(CREATE_OPTIONS):
        shards_create = click.option(f"--{key.replace('_', '-')}", key, help=help_text)(shards_create)
    return shards_create


# --- shards-insert ----------------------------------------------------------------

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def typed(value):
    """A CSV cell as JSON would hold it: integers and decimals as numbers ("007"
    stays text), an empty cell as null."""
    if value is None or value == "":
        return None
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def documents(rows, detect_types):
    """Each record as JSON text; a record that cannot be read or is not an object
    stops the load with its number."""
    rows = iter(rows)
    number = 0
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except (ValueError, csv.Error, RowError) as e:   # bad JSON on a line, a CSV row too long
            raise click.ClickException(f"record {number}: cannot read it: {e}\nnothing was inserted")
        if not isinstance(row, dict):
            raise click.ClickException(f"record {number} is not a JSON object: {json.dumps(row)[:200]}\n"
                                       "nothing was inserted")
        if detect_types:
            row = {k: typed(v) if isinstance(v, str) else v for k, v in row.items()}
        yield json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def find_bad_record(conn, sql, batch, first_number):
    """The number and error of the first document of `batch` the collection refuses,
    found by inserting them one by one under a savepoint that is then undone."""
    conn.execute("savepoint shards_find_bad")
    try:
        for offset, doc in enumerate(batch):
            try:
                conn.execute(sql, (doc,))
            except sqlite3.Error as e:
                return first_number + offset, e
    finally:
        conn.execute("rollback to shards_find_bad")
        conn.execute("release shards_find_bad")
    return None, None


def detect_format(fp):
    """NDJSON when the first line is a whole JSON object, a JSON array (or one object)
    when the data starts with '[' or '{' otherwise, else CSV (TSV when the header
    line has tabs and no commas)."""
    head = fp.peek(65536)[:65536].lstrip()
    first = head.split(b"\n", 1)[0].strip()
    if head[:1] == b"{":
        try:
            if isinstance(json.loads(first), dict):
                return Format.NL
        except ValueError:
            pass
        return Format.JSON
    if head[:1] == b"[":
        return Format.JSON
    return Format.TSV if b"\t" in first and b"," not in first else Format.CSV


def insert_documents(conn, collection, docs, batch_size, on_batch):
    """Every document in one transaction, `batch_size` per executemany call; on an
    error nothing is kept and the message names the record."""
    sql = f"insert into {quote_identifier(collection)}(doc) values (?)"
    done = 0
    try:
        conn.execute("begin immediate")
        batch = []
        for doc in docs:
            batch.append((doc,))
            if len(batch) == batch_size:
                done = insert_batch(conn, sql, batch, done, on_batch)
                batch = []
        if batch:
            done = insert_batch(conn, sql, batch, done, on_batch)
        conn.execute("commit")   # a buffered collection (buffer = N) writes here
    except BaseException as e:
        if conn.in_transaction:
            conn.execute("rollback")
        if isinstance(e, sqlite3.Error):   # BEGIN on a locked database, COMMIT
            raise click.ClickException(f"{e}\nnothing was inserted")
        raise
    return done


def insert_batch(conn, sql, batch, done, on_batch):
    try:
        conn.executemany(sql, batch)
    except sqlite3.Error as e:
        number, error = find_bad_record(conn, sql, [d for (d,) in batch], done + 1)
        where = f"record {number}: {error}" if number else str(e)
        raise click.ClickException(f"{where}\nnothing was inserted (the load is one transaction)")
    on_batch(len(batch))
    return done + len(batch)


def insert_command(cli):
    @cli.command(name="shards-insert")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
    @click.argument("collection")
    @click.argument("file", type=click.File("rb"))
    @click.option("--nl", "fmt", flag_value=Format.NL, help="newline-delimited JSON, one document a line")
    @click.option("--json", "fmt", flag_value=Format.JSON, help="a JSON array of documents (or one object)")
    @click.option("--csv", "fmt", flag_value=Format.CSV, help="CSV with a header line: each row one document")
    @click.option("--tsv", "fmt", flag_value=Format.TSV, help="TSV with a header line")
    @click.option("--no-detect-types", is_flag=True, help="CSV/TSV: keep every value as text")
    @click.option("--encoding", help="CSV/TSV character encoding (default utf-8)")
    @click.option("--batch-size", type=click.IntRange(1), default=BATCH_SIZE, show_default=True,
                  help="documents per INSERT call")
    @click.option("-s", "--silent", is_flag=True, help="no progress bar")
    def shards_insert(path, collection, file, fmt, no_detect_types, encoding, batch_size, silent):
        """Insert documents into a collection: NDJSON, a JSON array, CSV or TSV
        (found from the content when no format is given), each record one document.
        The whole file is one transaction: on an error nothing is inserted and the
        message names the record.

        \b
            sqlite-utils shards-insert events.db events events.ndjson
        """
        db = open_database(path)
        require(db.conn, collection, "collection")
        started = time.monotonic()
        label = f"inserting into {collection}"
        if fmt is None:
            file = file if hasattr(file, "peek") else io.BufferedReader(file)
            fmt = detect_format(file)
        # A JSON array is read whole before the first insert: its bar counts documents.
        with read_progress(file, label, silent or fmt == Format.JSON) as fp:
            try:
                rows, found = rows_from_file(fp, format=fmt, encoding=encoding)
            except (ValueError, UnicodeDecodeError) as e:
                raise click.ClickException(f"cannot read {file.name}: {e}")
            detect = found in (Format.CSV, Format.TSV) and not no_detect_types
            docs = documents(rows, detect)
            if isinstance(rows, list):
                with progress(len(rows), label, silent, show_pos=True) as bar:
                    count = insert_documents(db.conn, collection, docs, batch_size, bar.update)
            else:
                count = insert_documents(db.conn, collection, docs, batch_size, lambda n: None)
        seconds = time.monotonic() - started
        noun = "document" if count == 1 else "documents"
        click.echo(f"{count} {noun} inserted into {collection} in {seconds:.1f} s", err=True)

    return shards_insert


# --- maintenance: one function call per period, a progress bar across them ------

@dataclass
class Step:
    """One call of a maintenance function: `label` for the bar, `weight` its share of it."""
    label: str
    sql: str
    params: tuple
    weight: int


def run_steps(conn, steps, label, silent):
    """Runs each step as a statement of its own (each commits on its own), advancing
    the bar by its weight; returns the sum of what the calls returned."""
    total = 0
    with progress(sum(s.weight for s in steps), label, silent,
                  item_show_func=lambda s: s.label if s else None) as bar:
        for step in steps:
            try:
                total += conn.execute(step.sql, step.params).fetchall()[0][0] or 0
            except sqlite3.Error as e:
                raise click.ClickException(f"{step.label}: {e}\n(the periods before it are done and committed)")
            bar.update(step.weight, step)
    return total


def period_label(collection, ms):
    return f"{collection} up to {time.strftime('%Y-%m-%d %H:%M', time.gmtime(ms / 1000))} UTC"


def period_steps(conn, collection, before_ms, function, states):
    """One `function(collection, period_end)` call per period that ends at or before
    `before_ms`, oldest first, weighted by the rows of its shards in `states`."""
    marks = ",".join("?" * len(states))
    periods = conn.execute(
        f"select period_end, sum(case when state in ({marks}) then rows else 0 end) from shard_list(?) "
        f"where period_end is not null and period_end <= ? group by period_end order by period_end",
        (*states, collection, before_ms)).fetchall()
    return [Step(period_label(collection, end), f"select {function}(?, ?)", (collection, end), rows)
            for end, rows in periods if rows]


def maintenance_command(cli, name, function, states, verb, done, summary):
    @cli.command(name=name, help=summary)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
    @click.argument("collection")
    @click.option("--before", help="only periods that end at or before this time (Unix ms or a time "
                                   "string, UTC); default: now")
    @click.option("-s", "--silent", is_flag=True, help="no progress bar")
    def command(path, collection, before, silent):
        db = open_database(path)
        require(db.conn, collection, "collection")
        before_ms = to_ms(db.conn, before) if before else int(time.time() * 1000)
        steps = period_steps(db.conn, collection, before_ms, function, states)
        if not steps:
            click.echo(f"nothing to {verb} in {collection}", err=True)
            return
        rows = run_steps(db.conn, steps, f"{verb} {collection}", silent)
        click.echo(f"{rows} rows {done} in {collection} ({len(steps)} periods)", err=True)

    return command


def rollup_source(conn, rollup):
    """The collection a rollup reads (its `source` option), or None."""
    row = conn.execute("select sql from sqlite_master where name = ?", (rollup,)).fetchone()
    match = re.search(r"\bsource\s*=\s*['\"]?([^,'\"()\s]+)", row[0] or "", re.I) if row else None
    return match.group(1) if match else None


def refresh_command(cli):
    @cli.command(name="shards-refresh",
                 help="Build a rollup's partial aggregates shard by shard (shard_rollup_refresh), with a progress bar.")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
    @click.argument("rollup")
    @click.option("-s", "--silent", is_flag=True, help="no progress bar")
    def command(path, rollup, silent):
        db = open_database(path)
        require(db.conn, rollup, "rollup")
        source = rollup_source(db.conn, rollup)
        # At most every shard that takes no more inserts needs building: the bar's length.
        most = db.conn.execute("select count(*) from shard_list(?) where state != 'hot'",
                               (source,)).fetchone()[0] if source else 0
        built = 0
        with progress(max(most, 1), f"refresh {rollup}", silent) as bar:
            while True:
                # One shard a call, each a statement of its own (it commits on its own).
                try:
                    n = db.conn.execute("select shard_rollup_refresh(?, 1)", (rollup,)).fetchall()[0][0]
                except sqlite3.Error as e:
                    raise click.ClickException(f"{rollup}: {e}\n(the {built} shards built before it are committed)")
                if not n:
                    break
                built += n
                bar.update(n)
            bar.update(max(most - built, 0))
        click.echo(f"{built} shards built for {rollup}", err=True)

    return command


# --- sqlite-utils' own commands ---------------------------------------------------

def hide_shadow_tables(command):
    """`tables` without the shadow tables of collections and rollups; `--hidden` shows them."""
    original = command.callback

    @functools.wraps(original)
    def callback(*args, hidden=False, **kwargs):
        if hidden:
            return original(*args, **kwargs)
        table_names = sqlite_utils.Database.table_names

        def visible(self, *a, **kw):
            names = table_names(self, *a, **kw)
            try:
                shadow = {r[0] for r in self.execute(_SHADOW_SQL).fetchall()}
            except sqlite3.Error:   # no PRAGMA table_list (SQLite < 3.37): hide nothing
                return names
            return [n for n in names if n not in shadow]

        sqlite_utils.Database.table_names = visible
        try:
            return original(*args, **kwargs)
        finally:
            sqlite_utils.Database.table_names = table_names

    command.callback = callback
    command.params.append(click.Option(["--hidden"], is_flag=True,
                                       help="Include the shard and catalog tables of shards collections"))


def explain_collection_errors(command):
    """`insert` / `upsert` into a collection: a column error names the fix."""
    original = command.callback

    @functools.wraps(original)
    def callback(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except (click.ClickException, sqlite3.OperationalError) as e:
            message = e.format_message() if isinstance(e, click.ClickException) else str(e)
            table = kwargs.get("table")
            about_columns = re.search(r"has no column named|no such column|may not be altered|insert only doc", message)
            if kwargs.get("convert") and not about_columns:
                raise
            try:
                uri = "file:" + urllib.parse.quote(os.path.abspath(kwargs["path"])) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True)
                try:
                    kind = table_kind(conn, table)
                finally:
                    conn.close()
            except (sqlite3.Error, KeyError):
                raise e
            if kind != "collection":
                raise
            first = message.splitlines()[0]
            raise click.ClickException(
                f"{table} is a shards collection: each record goes into its one writable column, doc.\n"
                f"Add --convert '{{\"doc\": row}}' to make each record one document, or use\n"
                f"  sqlite-utils shards-insert {kwargs['path']} {table} FILE\n"
                f"(NDJSON, JSON arrays, CSV; {BATCH_SIZE:,} documents a batch, one transaction, a progress bar).\n"
                f"sqlite-utils said: {first}") from e

    command.callback = callback


@hookimpl
def register_commands(cli):
    create_command(cli)
    insert_command(cli)
    maintenance_command(cli, "shards-compress", "shard_compress", ("hot", "sealed"), "compress", "compressed",
                        "Compress a collection's shards period by period (shard_compress), oldest first.")
    maintenance_command(cli, "shards-merge", "shard_merge", ("hot", "sealed"), "merge", "moved",
                        "Merge a collection's finished shards period by period (shard_merge), oldest first.")
    refresh_command(cli)
    for name in ("insert", "upsert"):
        if name in cli.commands:
            explain_collection_errors(cli.commands[name])
    if "tables" in cli.commands:
        hide_shadow_tables(cli.commands["tables"])
