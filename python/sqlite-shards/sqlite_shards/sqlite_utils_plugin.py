"""sqlite-utils plugin: every connection sqlite-utils opens gets shards loaded, so
`sqlite-utils insert db.db events docs.ndjson --nl --convert '{"doc": row}'` writes
into a collection."""
import warnings

from sqlite_utils import hookimpl

from . import load


@hookimpl
def prepare_connection(conn):
    # A Python whose sqlite3 cannot load extensions keeps a working sqlite-utils for
    # every other database: warn instead of failing each one it opens.
    if not hasattr(conn, "enable_load_extension"):
        warnings.warn("sqlite-shards: this Python's sqlite3 cannot load extensions, so sqlite-utils "
                      "runs without shards (use a Python whose sqlite3 allows them)", stacklevel=2)
        return
    load(conn)
