import CShardShim
import ShardCore

/// What the extension keeps per connection: the collections connected on it, so
/// that SQL functions reach the same in-memory catalog as the virtual table.
final class Connection {
    let db: Database
    private var collections: [String: ShardedCollection] = [:]
    /// Virtual-table instances sharing each collection: the last to go closes it.
    private var instances: [ObjectIdentifier: Int] = [:]
    /// The collection a running shards_explain traces (they do not nest), and the
    /// lines its scans recorded so far.
    weak var explaining: ShardedCollection?
    var trace: [String] = []
    /// Compressed blocks shards_block has decompressed on this connection: shards_explain
    /// reports how many a query needed.
    var blocksDecompressed = 0

    /// Work for after SQLite has closed the handle: the close-time write of buffered
    /// documents that the connection's own open transaction kept locked out (see
    /// `flushOnClose`). SQLite releases this object last, after it rolled that
    /// transaction back and closed the file.
    var afterClose: [() -> Void] = []

    /// What xConnect last read for each collection (its config, its added columns).
    /// SQLite calls xConnect again after every schema change, while it holds the
    /// schema: a statement run there cannot reload a schema that changed once more
    /// meanwhile and fails with SQLITE_SCHEMA, which reached a user's plain SELECT or
    /// INSERT as "database schema has changed". What the last connect read stands in
    /// then (a table's storage and columns change only with DDL of its own, which the
    /// next connect reads); at the first connect, a read-only connection of its own to
    /// the file reads it. A collection dropped or created here forgets it.
    private var connectReads: [String: Any] = [:]

    init(db: Database) { self.db = db }

    /// `read(store)` for xConnect of (schema, name), or, when the schema changed under
    /// it, what it returned last time, or what it returns on a connection of its own.
    func readForConnect<T>(schema: String, name: String, _ what: String,
                           _ read: (CatalogStore) throws -> T) throws -> T {
        let k = Self.key(schema, name) + "\u{0}" + what
        do {
            let value = try read(CatalogStore(db: db, schema: schema, name: name))
            connectReads[k] = value
            return value
        } catch let e as SQLiteError where e.code == SQLITE_SCHEMA {
            if let value = connectReads[k] as? T { return value }
            let path = db.filename(schema)
            guard !path.isEmpty, Replication.replicatingVFS(db, schema: schema) == nil else { throw e }
            let own = try OwnedDatabase.open(path, flags: SQLITE_OPEN_READONLY, context: "cannot read the catalog of '\(name)'")
            let store = CatalogStore(db: own.db, schema: "main", name: name)
            defer { store.finalizeAll() }
            return try withExtendedLifetime(own) { try read(store) }
        }
    }

    private func forgetConnectReads(schema: String, name: String) {
        let prefix = Self.key(schema, name) + "\u{0}"
        connectReads = connectReads.filter { !$0.key.hasPrefix(prefix) }
    }

    deinit {
        for work in afterClose { work() }
    }

    private static func key(_ schema: String, _ name: String) -> String {
        schema.lowercased() + "." + name.lowercased()
    }

    /// The collection shared by every virtual-table instance of (schema, name) on this
    /// connection. SQLite may connect a second instance in the middle of a transaction
    /// (after a rollback resets the schema); sharing keeps one catalog in memory, with
    /// the counters of writes not yet written back.
    func attach(schema: String, name: String, create: Bool, _ make: () throws -> ShardedCollection) throws -> ShardedCollection {
        let k = Self.key(schema, name)
        if !create, let c = collections[k] {
            instances[ObjectIdentifier(c), default: 0] += 1
            return c
        }
        if create { forgetConnectReads(schema: schema, name: name) }
        let c = try make()
        instances[ObjectIdentifier(c)] = 1
        collections[k] = c
        return c
    }

    /// One instance let go; the last one closes the collection.
    func detach(_ c: ShardedCollection, dropped: Bool) {
        let left = instances[ObjectIdentifier(c), default: 0] - 1
        instances[ObjectIdentifier(c)] = left > 0 ? left : nil
        let k = Self.key(c.schema, c.name)
        if dropped || left <= 0 {
            if collections[k] === c { collections[k] = nil }
        }
        if dropped { forgetConnectReads(schema: c.schema, name: c.name) }
        if left <= 0 { c.close() }
    }

    /// The rollups connected on this connection, by name (main database only).
    var rollups: [String: RollupTable] = [:] {
        didSet {
            fed = [:]
            lastFed = nil
            rollupsChanges.value &+= 1
        }
    }
    /// Moves at every change of `rollups`: what an insert's pass reads follows it
    /// (`InsertScan`, which holds it to read it at each insert without this connection).
    let rollupsChanges = ChangeCount()

    /// Per collection name: the connected rollups over it that keep parts of its hot
    /// shards in memory (RollupHotPartials.swift). Made again when a rollup connects
    /// or goes; looked up at every insert.
    private var fed: [String: [RollupTable]] = [:]
    private var lastFed: (collection: String, tables: [RollupTable])?

    func rollupsFed(by collection: String) -> [RollupTable] {
        if let last = lastFed, last.collection == collection { return last.tables }
        defer { lastFed = (collection, fed[collection] ?? []) }
        if let tables = fed[collection] { return tables }
        let lower = collection.lowercased()
        let tables = rollups.values.filter { $0.scanPaths != nil && $0.options.source.lowercased() == lower }
            .sorted { $0.name < $1.name }
        fed[collection] = tables
        return tables
    }

    /// The rollup called `name`, connecting it if no statement has touched it yet.
    func rollup(_ name: String) throws -> RollupTable {
        if let r = rollups[name] { return r }
        guard try db.tableExists(name) else { throw ShardError("no such rollup: \(name)") }
        _ = try db.prepare("SELECT 1 FROM main.\(SQLText.identifier(name)) LIMIT 0")
        guard let r = rollups[name] else { throw ShardError("'\(name)' is not a shards rollup") }
        return r
    }

    /// The rollups over collection `source` in the main database, connected.
    func rollups(over source: String) throws -> [RollupTable] {
        // Asked at every upkeep step and merge: through the collection's statement
        // cache when it is connected (the statement is not parsed again each time).
        let sql = """
            SELECT name FROM main.sqlite_schema WHERE type = 'table'
              AND sql LIKE 'CREATE VIRTUAL TABLE%USING shards!_rollup%' ESCAPE '!' ORDER BY name
            """
        let cache = collections[Self.key("main", source)]?.statements
        let stmt = try cache?.checkout(sql) ?? db.prepare(sql)
        defer { cache?.checkin(stmt) }
        var names: [String] = []
        while try stmt.step() { if let n = stmt.text(0) { names.append(n) } }
        return try names.map { try rollup($0) }.filter { $0.options.source.lowercased() == source.lowercased() }
    }

    /// The collection called `name` in the main database, connecting it if no
    /// statement has touched it yet on this connection.
    func collection(_ name: String) throws -> ShardedCollection {
        if let c = collections[Self.key("main", name)] { return c }
        guard try db.tableExists(name) else { throw ShardError("no such collection: \(name)") }
        // Preparing a statement on the table makes SQLite call xConnect; an error
        // says why an existing collection cannot be opened.
        _ = try db.prepare("SELECT 1 FROM main.\(SQLText.identifier(name)) LIMIT 0")
        guard let c = collections[Self.key("main", name)] else {
            throw ShardError("'\(name)' is not a shards collection")
        }
        return c
    }

    /// Names of every shards collection in the main database.
    func allCollectionNames() throws -> [String] {
        let stmt = try db.prepare("""
            SELECT name FROM main.sqlite_schema
            WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' AND sql LIKE '%USING shards%'
              AND sql NOT LIKE '%USING shards!_rollup%' ESCAPE '!' ORDER BY name
            """)
        var names: [String] = []
        while try stmt.step() { if let n = stmt.text(0) { names.append(n) } }
        return names
    }
}

// MARK: - one Connection per database handle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Connection {
    private final class Entry {
        weak var connection: Connection?
        init(_ c: Connection) { connection = c }
    }
    /// Handles the extension is loaded on. An entry dies with its Connection, which
    /// SQLite releases when the handle closes, so a reused address is a new handle.
    nonisolated(unsafe) private static var loaded: [OpaquePointer: Entry] = [:]
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// A new Connection for this handle, or nil when the extension is loaded on it already.
    static func registerOnce(_ db: Database) -> Connection? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if loaded[db.handle]?.connection != nil { return nil }
        loaded = loaded.filter { $0.value.connection != nil }
        let c = Connection(db: db)
        loaded[db.handle] = Entry(c)
        return c
    }

    /// The load failed after registerOnce: a later load must try again.
    static func forget(_ db: Database) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        loaded[db.handle] = nil
    }
}

/// Swift objects handed to C as user data: retained once per registration, released
/// by the destructor SQLite calls for that registration.
func retainedPointer(_ object: AnyObject) -> UnsafeMutableRawPointer {
    Unmanaged.passRetained(object).toOpaque()
}

func releasePointer(_ p: UnsafeMutableRawPointer?) {
    guard let p else { return }
    Unmanaged<AnyObject>.fromOpaque(p).release()
}

func object<T: AnyObject>(_ p: UnsafeMutableRawPointer?, as: T.Type) -> T {
    Unmanaged<T>.fromOpaque(p!).takeUnretainedValue()
}
