"""A small client of dqlite's wire protocol (version 1), standard library only.

Enough to use a shards cluster from Python: find the leader, open a database, run
statements with parameters, read rows, and make transactions.

    from dqlite_wire import Client
    with Client(["127.0.0.1:9001", "127.0.0.1:9002"]) as db:
        db.exec("INSERT INTO events(doc) SELECT value FROM json_each(?)", [docs_json])
        print(db.query("SELECT count(*) FROM events"))

The protocol: the client sends the version (1) as a little-endian uint64, then
requests; every message is an 8-byte header (uint32 body length in 8-byte words,
uint8 type, uint8 flags, uint16 extra) and a body of 8-byte words: integers
little-endian, text NUL-terminated and zero-padded to a word. Parameters are a
tuple: one byte count, one type byte each, padded to a word, then the values.
Rows come as a column count, the names, then per row 4-bit type codes padded to a
word and the values; a final word says whether more batches follow.
"""

import socket
import struct

PROTOCOL_VERSION = 1

# Request and response types (dqlite's src/protocol.h).
REQ_LEADER, REQ_OPEN, REQ_EXEC_SQL, REQ_QUERY_SQL, REQ_CLUSTER = 0, 3, 8, 9, 16
RES_FAILURE, RES_SERVER, RES_SERVERS, RES_DB, RES_RESULT, RES_ROWS = 0, 1, 3, 4, 6, 7

# Value types.
INTEGER, FLOAT, TEXT, BLOB, NULL, UNIXTIME, ISO8601, BOOLEAN = 1, 2, 3, 4, 5, 9, 10, 11

QUICKACK = getattr(socket, "TCP_QUICKACK", None)   # Linux only

ROWS_PART = 0xEEEEEEEEEEEEEEEE
ROWS_DONE = 0xFFFFFFFFFFFFFFFF

# SQLite extended codes dqlite answers with when the node is not (or no longer) the leader.
NOT_LEADER_CODES = {10250, 10506}   # SQLITE_IOERR_NOT_LEADER, SQLITE_IOERR_LEADERSHIP_LOST


class Error(Exception):
    """A statement the cluster refused: the SQLite (or dqlite) code and message."""

    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message

    @property
    def not_leader(self):
        return self.code in NOT_LEADER_CODES


def _pad(data):
    return data + b"\0" * (-len(data) % 8)


def _text(value):
    return _pad(value.encode() + b"\0")


class _Reader:
    def __init__(self, body):
        self.body = body
        self.at = 0

    def uint64(self):
        (v,) = struct.unpack_from("<Q", self.body, self.at)
        self.at += 8
        return v

    def int64(self):
        (v,) = struct.unpack_from("<q", self.body, self.at)
        self.at += 8
        return v

    def double(self):
        (v,) = struct.unpack_from("<d", self.body, self.at)
        self.at += 8
        return v

    def text(self):
        end = self.body.index(b"\0", self.at)
        value = self.body[self.at:end].decode()
        self.at = (end + 8) & ~7
        return value

    def blob(self):
        n = self.uint64()
        value = self.body[self.at:self.at + n]
        self.at += n + (-n % 8)
        return value


def _failure(reader):
    """A FAILURE body: code and message. dqlite 1.11 puts a query's column count
    and names in front of them when the query fails on its first step; a body
    longer than one code and message is read that way."""
    code, message = reader.uint64(), reader.text()
    if reader.at < len(reader.body):
        reader.at = 8
        for _ in range(code):
            reader.text()
        code, message = reader.uint64(), reader.text()
    return Error(code, message)


def _params(values):
    values = list(values)
    if len(values) > 255:
        raise ValueError("at most 255 parameters")
    types, body = [], b""
    for v in values:
        if v is None:
            types.append(NULL)
            body += struct.pack("<Q", 0)
        elif isinstance(v, bool):
            types.append(BOOLEAN)
            body += struct.pack("<Q", int(v))
        elif isinstance(v, int):
            types.append(INTEGER)
            body += struct.pack("<q", v)
        elif isinstance(v, float):
            types.append(FLOAT)
            body += struct.pack("<d", v)
        elif isinstance(v, str):
            types.append(TEXT)
            body += _text(v)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            types.append(BLOB)
            body += struct.pack("<Q", len(v)) + _pad(bytes(v))
        else:
            raise TypeError(f"cannot bind {type(v).__name__}")
    return _pad(bytes([len(values)] + types)) + body


class Connection:
    """One protocol connection to one node."""

    def __init__(self, address, timeout):
        host, port = address.rsplit(":", 1)
        self.address = address
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(struct.pack("<Q", PROTOCOL_VERSION))

    def close(self):
        self.sock.close()

    def _receive(self, n):
        data = bytearray()
        while len(data) < n:
            # dqlite 1.11 leaves Nagle's algorithm on for client connections, so the
            # second part of a response waits for our ACK; a delayed ACK (40 ms on
            # Linux) would stall it. Acknowledge at once (the kernel resets this).
            if QUICKACK is not None:
                self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"{self.address} closed the connection")
            data += chunk
        return bytes(data)

    def send(self, kind, body):
        self.sock.sendall(struct.pack("<IBBH", len(body) // 8, kind, 0, 0) + body)

    def receive(self):
        words, kind, _, _ = struct.unpack("<IBBH", self._receive(8))
        reader = _Reader(self._receive(words * 8))
        if kind == RES_FAILURE:
            raise _failure(reader)
        return kind, reader

    def call(self, kind, body, expect):
        self.send(kind, body)
        got, reader = self.receive()
        if got != expect:
            raise Error(0, f"{self.address} answered request {kind} with message type {got}")
        return reader

    def leader(self):
        """(id, address) of the leader as this node knows it, or None."""
        r = self.call(REQ_LEADER, struct.pack("<Q", 0), RES_SERVER)
        node_id, address = r.uint64(), r.text()
        return (node_id, address) if node_id and address else None

    def cluster(self):
        """[(id, address, role)]; role 0 voter, 1 stand-by, 2 spare."""
        r = self.call(REQ_CLUSTER, struct.pack("<Q", 1), RES_SERVERS)
        return [(r.uint64(), r.text(), r.uint64()) for _ in range(r.uint64())]


class Client:
    """A database on the cluster's leader, found through `servers`."""

    def __init__(self, servers, database="db", timeout=10.0):
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.database = database
        self.timeout = timeout
        self.conn = None
        self.db_id = None
        self.connect()

    def connect(self):
        """Finds the leader among `servers` and opens the database there."""
        self.close()
        errors = []
        for server in self.servers:
            try:
                probe = Connection(server, self.timeout)
                try:
                    found = probe.leader()
                finally:
                    probe.close()
            except (OSError, Error) as e:
                errors.append(f"{server}: {e}")
                continue
            if found is None:
                errors.append(f"{server}: knows no leader")
                continue
            conn = Connection(found[1], self.timeout)
            try:
                r = conn.call(REQ_OPEN, _text(self.database) + struct.pack("<Q", 0) + _text(""), RES_DB)
            except BaseException:
                conn.close()
                raise
            self.conn, self.db_id = conn, struct.unpack_from("<I", r.body, 0)[0]
            self.leader_address = found[1]
            return
        raise ConnectionError("no leader found: " + "; ".join(errors))

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exec(self, sql, params=()):
        """Runs `sql` (statements separated by ';', params bind the first) to
        completion; returns (last_insert_id, rows_affected) of the last."""
        r = self.conn.call(REQ_EXEC_SQL, struct.pack("<Q", self.db_id) + _text(sql) + _params(params), RES_RESULT)
        return r.uint64(), r.uint64()

    def query(self, sql, params=()):
        """Rows of one statement, as tuples. A SELECT that writes (shard_drop, ...)
        must run inside begin()/commit(): dqlite replicates at COMMIT."""
        self.conn.send(REQ_QUERY_SQL, struct.pack("<Q", self.db_id) + _text(sql) + _params(params))
        rows = []
        while True:
            kind, r = self.conn.receive()
            if kind != RES_ROWS:
                raise Error(0, f"expected rows, got message type {kind}")
            n = r.uint64()
            for _ in range(n):
                r.text()
            marker = None
            while True:
                word = struct.unpack_from("<Q", r.body, r.at)[0]
                if word in (ROWS_DONE, ROWS_PART) and r.at + 8 == len(r.body):
                    marker = word
                    break
                header = r.body[r.at:r.at + ((n + 1) // 2 + 7) // 8 * 8]
                r.at += len(header)
                row = []
                for i in range(n):
                    t = (header[i // 2] >> (4 * (i % 2))) & 0xF
                    if t in (INTEGER, UNIXTIME):
                        row.append(r.int64())
                    elif t == BOOLEAN:
                        row.append(bool(r.uint64()))
                    elif t == FLOAT:
                        row.append(r.double())
                    elif t in (TEXT, ISO8601):
                        row.append(r.text())
                    elif t == BLOB:
                        row.append(r.blob())
                    elif t == NULL:
                        r.uint64()
                        row.append(None)
                    else:
                        raise Error(0, f"unknown value type {t}")
                rows.append(tuple(row))
            if marker == ROWS_DONE:
                return rows

    def begin(self):
        self.exec("BEGIN")

    def commit(self):
        self.exec("COMMIT")

    def rollback(self):
        self.exec("ROLLBACK")

    def write_query(self, sql, params=()):
        """A SELECT that writes, in a transaction of its own: its rows, once committed."""
        self.begin()
        try:
            rows = self.query(sql, params)
        except BaseException:
            try:
                self.rollback()
            except (Error, OSError):
                pass
            raise
        self.commit()
        return rows
