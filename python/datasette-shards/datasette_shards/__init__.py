"""Datasette plugin for shards collections.

- Loads the extension into every connection Datasette opens.
- Hides each collection's shard, compressed-block and catalog tables from table
  lists. Datasette 1.0 hides shadow tables itself; 0.65 hides only FTS ones, so the
  plugin adds the shadow tables of shards collections to `Database.hidden_table_names`
  (Datasette has no plugin hook for it).
- Adds "Shards of this collection" to a collection's table actions: a query of
  `shard_list(<collection>)`.
"""
import urllib.parse

from datasette import hookimpl
from datasette.database import Database

import sqlite_shards

COLLECTIONS_SQL = """
select name from sqlite_master
where type = 'table' and sql like 'create virtual table%using shards%'
"""

# Shadow tables (PRAGMA table_list, which asks the module's xShadowName) whose name
# before the last '_' is a shards collection.
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


def _hide_shadow_tables():
    original = Database.hidden_table_names
    if getattr(original, "_shards", False):
        return

    async def hidden_table_names(self):
        hidden = await original(self)
        shadow = [r[0] for r in (await self.execute(SHADOW_SQL)).rows]
        return hidden + [t for t in shadow if t not in hidden]

    hidden_table_names._shards = True
    Database.hidden_table_names = hidden_table_names


_hide_shadow_tables()


@hookimpl
def table_actions(datasette, database, table):
    async def actions():
        db = datasette.get_database(database)
        collections = {r[0] for r in (await db.execute(COLLECTIONS_SQL)).rows}
        if table not in collections:
            return []
        sql = "select * from shard_list(:collection) order by shard"
        query = urllib.parse.urlencode({"sql": sql, "collection": table})
        return [{"href": datasette.urls.database(database) + "?" + query, "label": "Shards of this collection"}]

    return actions
