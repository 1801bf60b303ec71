"""shards for Python: the loadable SQLite extension, packaged.

    import sqlite3, sqlite_shards
    conn = sqlite3.connect("events.db")
    sqlite_shards.load(conn)

Works with the standard `sqlite3` module (where it allows extensions), apsw,
pysqlite3 and sqlean.py: each has `enable_load_extension` and `load_extension`.
"""
import os

__version__ = "0.1.0"

__all__ = ["load", "loadable_path", "__version__"]


def loadable_path():
    """The library's path without its file suffix, as `load_extension` and the
    sqlite3 shell's `.load` take it (SQLite adds `.so` and finds the entry point
    `sqlite3_shards_init` from the name `shards`)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "shards")


def load(conn):
    """Loads shards into `conn`. Extension loading is switched on for the call and
    off again after it, so SQL run later cannot load other libraries."""
    if not hasattr(conn, "enable_load_extension"):
        raise RuntimeError("shards: this connection cannot load SQLite extensions: its Python was built without "
                           "them (--enable-loadable-sqlite-extensions); use apsw, sqlean.py or pysqlite3, "
                           "or a Python whose sqlite3 allows them (Debian's does)")
    conn.enable_load_extension(True)
    try:
        conn.load_extension(loadable_path())
    finally:
        conn.enable_load_extension(False)
