"""Datasette plugin for shards collections and rollups.

- Loads the extension into every connection Datasette opens.
- Hides each collection's (and rollup's) shard, compressed-block and catalog tables
  from table lists. Datasette 1.0 hides shadow tables itself; 0.65 hides only FTS
  ones, so the plugin adds the shadow tables of shards collections to
  `Database.hidden_table_names` (Datasette has no plugin hook for it).
- A collection's primary key is `id` (it is the rowid): Datasette then links rows by
  `id` and shows no extra `rowid` column (`Database.primary_keys`, no hook either).
- `ts` of a collection and `bucket` / `bucket_ms` of a rollup read as UTC times
  (render_cell; JSON and CSV keep the stored values).
- A collection's table page charts its documents per time bucket, over the rows its
  filters select; a rollup's page charts a measure per bucket (chart.py; the
  plugin's table.html adds it under the page header).
- Adds "Shards of this collection" to a collection's table actions: a query of
  `shard_list(<collection>)`.
"""
import datetime
import time
import urllib.parse

import markupsafe
from datasette import hookimpl
from datasette.database import Database

import sqlite_shards

from . import chart

# Shadow tables (PRAGMA table_list, which asks the module's xShadowName) whose name
# before the last '_' is a shards collection or rollup.
SHADOW_SQL = """
select t.name from pragma_table_list as t
where t.schema = 'main' and t.type = 'shadow'
  and exists (select 1 from sqlite_master as m
              where m.type = 'table' and m.sql like 'create virtual table%using shards%'
                and t.name like replace(replace(m.name, '\\', '\\\\'), '_', '\\_') || '\\_%' escape '\\')
"""


@hookimpl
def prepare_connection(conn):
    sqlite_shards.load(conn)


def _patch_database():
    if getattr(Database.hidden_table_names, "_shards", False):
        return
    hidden_table_names, primary_keys = Database.hidden_table_names, Database.primary_keys

    async def hidden_with_shadow_tables(self):
        hidden = await hidden_table_names(self)
        shadow = [r[0] for r in (await self.execute(SHADOW_SQL)).rows]
        return hidden + [t for t in shadow if t not in hidden]

    async def primary_keys_with_id(self, table):
        keys = await primary_keys(self, table)
        if not keys and chart.kind_of(await self.execute(chart.SCHEMA_SQL, [table])) == "collection":
            return ["id"]
        return keys

    hidden_with_shadow_tables._shards = True
    Database.hidden_table_names = hidden_with_shadow_tables
    Database.primary_keys = primary_keys_with_id


_patch_database()

# (database, table) -> (kind, expires): render_cell runs once per cell, so the kind of
# a table is looked up at most once a second, not once per cell.
_kinds = {}


async def table_kind(datasette, database, table):
    now = time.monotonic()
    cached = _kinds.get((database, table))
    if cached and cached[1] > now:
        return cached[0]
    kind = chart.kind_of(await datasette.get_database(database).execute(chart.SCHEMA_SQL, [table]))
    _kinds[(database, table)] = (kind, now + 1.0)
    return kind


def utc_text(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + " UTC"


@hookimpl
def render_cell(value, column, table, database, datasette):
    if table is None or column not in ("ts", "bucket", "bucket_ms"):
        return None

    async def render():
        kind = await table_kind(datasette, database, table)
        wanted = {"collection": ("ts",), "rollup": ("bucket", "bucket_ms")}.get(kind, ())
        if column not in wanted:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                text = utc_text(value)
            except (OverflowError, OSError, ValueError):
                return None
            return markupsafe.Markup('<span class="shards-time" title="{}">{}</span>').format(value, text)
        if isinstance(value, str) and column == "bucket":
            return markupsafe.Markup('<span class="shards-time">{} UTC</span>').format(value)
        return None

    return render


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "table" or not table:
        return {}

    async def shards_chart():
        kind = await table_kind(datasette, database, table)
        if kind is None:
            return ""
        return await chart.chart_html(datasette, database, table, kind, request)

    return {"shards_chart": shards_chart}


@hookimpl
def table_actions(datasette, database, table):
    async def actions():
        if await table_kind(datasette, database, table) != "collection":
            return []
        sql = "select * from shard_list(:collection) order by shard"
        query = urllib.parse.urlencode({"sql": sql, "collection": table})
        return [{"href": datasette.urls.database(database) + "?" + query, "label": "Shards of this collection"}]

    return actions
