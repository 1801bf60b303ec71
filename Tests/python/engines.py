"""Two SQLite hosts behind one small interface, so a test runs the same SQL on both:

    apsw  -- Python's apsw, with its own bundled SQLite (3.54 here)
    c     -- the system libsqlite3 (3.40 here) through ctypes and its C API

    conn = engines.open_("c", path)        # the extension loaded
    conn.execute(sql, params) -> rows of the last statement, as lists
    conn.defensive(), conn.limit_attached(n), conn.deny_attach(), conn.close()
Errors are engines.SQLError (message, code) on both.
"""
import ctypes
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")

ENGINES = ("apsw", "c")

SQLITE_DBCONFIG_DEFENSIVE = 1010
SQLITE_LIMIT_ATTACHED = 7
SQLITE_ATTACH = 24
SQLITE_DENY = 1
SQLITE_CONFIG_LOG = 16


class SQLError(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.message = message
        self.code = code


def open_(engine, path, load=True):
    return ApswConnection(path, load) if engine == "apsw" else CConnection(path, load)


def version(engine):
    if engine == "apsw":
        import apsw
        return apsw.sqlite_lib_version()
    return _lib().sqlite3_libversion().decode()


def capture_log(engine, sink):
    """Appends (code, message) of every sqlite3_log call to `sink`; call before any open."""
    if engine == "apsw":
        import apsw
        apsw.config(apsw.SQLITE_CONFIG_LOG, lambda code, msg: sink.append((code, msg)))
        return
    lib = _lib()
    cb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)(
        lambda _, code, msg: sink.append((code, msg.decode(errors="replace"))))
    _keep.append(cb)
    lib.sqlite3_config(SQLITE_CONFIG_LOG, cb, None)


class ApswConnection:
    def __init__(self, path, load):
        import apsw
        self.apsw = apsw
        self.conn = apsw.Connection(path)
        self.conn.setbusytimeout(5000)
        if load:
            self.load()

    def load(self):
        self.conn.enable_load_extension(True)
        try:
            self.conn.load_extension(LIB)
        except self.apsw.Error as e:
            raise SQLError(str(e))

    def execute(self, sql, params=()):
        try:
            return [list(r) for r in self.conn.execute(sql, params)]
        except UnicodeDecodeError:
            return [["<text that is not UTF-8>"]]   # SQLite passes such text through; Python cannot decode it
        except self.apsw.Error as e:
            raise SQLError(str(e).split(": ", 1)[-1], getattr(e, "result", 1))

    def defensive(self):
        self.conn.config(SQLITE_DBCONFIG_DEFENSIVE, 1)

    def limit_attached(self, n):
        self.conn.limit(SQLITE_LIMIT_ATTACHED, n)

    def deny_attach(self):
        self.conn.authorizer = lambda op, *rest: SQLITE_DENY if op == SQLITE_ATTACH else 0

    def close(self):
        self.conn.close()


_lib_handle = None
_keep = []


def _lib():
    global _lib_handle
    if _lib_handle is None:
        lib = ctypes.CDLL("libsqlite3.so.0")
        P = ctypes.c_void_p
        lib.sqlite3_libversion.restype = ctypes.c_char_p
        lib.sqlite3_open_v2.argtypes = [ctypes.c_char_p, ctypes.POINTER(P), ctypes.c_int, ctypes.c_char_p]
        lib.sqlite3_errmsg.restype = ctypes.c_char_p
        lib.sqlite3_errmsg.argtypes = [P]
        lib.sqlite3_prepare_v2.argtypes = [P, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(P), ctypes.POINTER(ctypes.c_void_p)]
        for f in ("sqlite3_step", "sqlite3_finalize", "sqlite3_column_count", "sqlite3_close_v2", "sqlite3_bind_parameter_count"):
            getattr(lib, f).argtypes = [P]
        lib.sqlite3_column_type.argtypes = [P, ctypes.c_int]
        lib.sqlite3_column_int64.argtypes = [P, ctypes.c_int]
        lib.sqlite3_column_int64.restype = ctypes.c_int64
        lib.sqlite3_column_double.argtypes = [P, ctypes.c_int]
        lib.sqlite3_column_double.restype = ctypes.c_double
        lib.sqlite3_column_blob.argtypes = [P, ctypes.c_int]
        lib.sqlite3_column_blob.restype = ctypes.c_void_p
        lib.sqlite3_column_text.argtypes = [P, ctypes.c_int]
        lib.sqlite3_column_text.restype = ctypes.c_void_p
        lib.sqlite3_column_bytes.argtypes = [P, ctypes.c_int]
        lib.sqlite3_bind_int64.argtypes = [P, ctypes.c_int, ctypes.c_int64]
        lib.sqlite3_bind_double.argtypes = [P, ctypes.c_int, ctypes.c_double]
        lib.sqlite3_bind_text.argtypes = [P, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        lib.sqlite3_bind_blob.argtypes = [P, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        lib.sqlite3_bind_null.argtypes = [P, ctypes.c_int]
        lib.sqlite3_enable_load_extension.argtypes = [P, ctypes.c_int]
        lib.sqlite3_load_extension.argtypes = [P, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
        lib.sqlite3_limit.argtypes = [P, ctypes.c_int, ctypes.c_int]
        lib.sqlite3_busy_timeout.argtypes = [P, ctypes.c_int]
        lib.sqlite3_set_authorizer.argtypes = [P, ctypes.c_void_p, ctypes.c_void_p]
        _lib_handle = lib
    return _lib_handle


AUTHORIZER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                              ctypes.c_char_p, ctypes.c_char_p)
TRANSIENT = ctypes.c_void_p(-1)


class CConnection:
    def __init__(self, path, load):
        self.lib = lib = _lib()
        self.db = ctypes.c_void_p()
        rc = lib.sqlite3_open_v2(path.encode(), ctypes.byref(self.db), 0x2 | 0x4 | 0x40, None)
        if rc != 0:
            raise SQLError(f"cannot open {path}", rc)
        lib.sqlite3_busy_timeout(self.db, 5000)
        if load:
            self.load()

    def load(self):
        self.lib.sqlite3_enable_load_extension(self.db, 1)
        err = ctypes.c_char_p()
        if self.lib.sqlite3_load_extension(self.db, (LIB + ".so").encode(), None, ctypes.byref(err)) != 0:
            raise SQLError((err.value or b"?").decode())

    def _error(self, rc):
        return SQLError(self.lib.sqlite3_errmsg(self.db).decode(errors="replace"), rc)

    def execute(self, sql, params=()):
        lib = self.lib
        data = sql.encode()
        buf = ctypes.create_string_buffer(data)
        base = ctypes.addressof(buf)
        at, end = base, base + len(data)
        rows = []
        while at < end:
            stmt, tail = ctypes.c_void_p(), ctypes.c_void_p()
            rc = lib.sqlite3_prepare_v2(self.db, at, end - at, ctypes.byref(stmt), ctypes.byref(tail))
            if rc != 0:
                raise self._error(rc)
            at = tail.value or end
            if not stmt.value:
                continue
            try:
                if lib.sqlite3_bind_parameter_count(stmt):
                    self._bind(stmt, params)
                rows = []
                while True:
                    rc = lib.sqlite3_step(stmt)
                    if rc == 100:
                        rows.append([self._column(stmt, i) for i in range(lib.sqlite3_column_count(stmt))])
                    elif rc == 101:
                        break
                    else:
                        raise self._error(rc)
            finally:
                lib.sqlite3_finalize(stmt)
        return rows

    def _bind(self, stmt, params):
        lib = self.lib
        for i, v in enumerate(params, 1):
            if v is None:
                lib.sqlite3_bind_null(stmt, i)
            elif isinstance(v, bool) or isinstance(v, int):
                lib.sqlite3_bind_int64(stmt, i, int(v))
            elif isinstance(v, float):
                lib.sqlite3_bind_double(stmt, i, v)
            elif isinstance(v, str):
                b = v.encode()
                lib.sqlite3_bind_text(stmt, i, b, len(b), TRANSIENT)
            else:
                b = bytes(v)
                lib.sqlite3_bind_blob(stmt, i, b, len(b), TRANSIENT)

    def _column(self, stmt, i):
        lib = self.lib
        t = lib.sqlite3_column_type(stmt, i)
        if t == 1:
            return lib.sqlite3_column_int64(stmt, i)
        if t == 2:
            return lib.sqlite3_column_double(stmt, i)
        if t == 5:
            return None
        if t == 4:
            p = lib.sqlite3_column_blob(stmt, i)
            return ctypes.string_at(p, lib.sqlite3_column_bytes(stmt, i)) if p else b""
        p = lib.sqlite3_column_text(stmt, i)
        return ctypes.string_at(p, lib.sqlite3_column_bytes(stmt, i)).decode(errors="replace")

    def defensive(self):
        out = ctypes.c_int()
        self.lib.sqlite3_db_config(self.db, SQLITE_DBCONFIG_DEFENSIVE, ctypes.c_int(1), ctypes.byref(out))

    def limit_attached(self, n):
        self.lib.sqlite3_limit(self.db, SQLITE_LIMIT_ATTACHED, n)

    def deny_attach(self):
        cb = AUTHORIZER(lambda _, op, *rest: SQLITE_DENY if op == SQLITE_ATTACH else 0)
        _keep.append(cb)
        self.lib.sqlite3_set_authorizer(self.db, ctypes.cast(cb, ctypes.c_void_p), None)

    def close(self):
        if self.db:
            self.lib.sqlite3_close_v2(self.db)
            self.db = None
