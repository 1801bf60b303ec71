"""sqlite-utils plugin: every connection sqlite-utils opens gets shards loaded, so
`sqlite-utils insert db.db events docs.ndjson --nl --convert '{"doc": row}'` writes
into a collection."""
try:
    import sqlite_utils
except ImportError:  # sqlite-utils is optional; without it this module is never loaded
    sqlite_utils = None

if sqlite_utils is not None:
    from sqlite_utils import hookimpl

    from . import load

    @hookimpl
    def prepare_connection(conn):
        load(conn)
