import CShardShim
import ShardCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Which files a collection may write and read as archives (README, "Safety"):
// - the name is a relative path inside the main database's folder (ArchiveName);
// - archiving is attaching another database in all but name, so it needs what ATTACH
//   needs: SQLITE_LIMIT_ATTACHED above 0 and an authorizer that allows ATTACH;
// - the target is none of the connection's own database files;
// - an archive records its owner (the collection's owner_id and name) in its
//   `shards_owner` table, and is written and read only by that owner.

extension ShardedCollection {
    /// The archive file's absolute path: the name checked, then taken from the main
    /// database's folder (the current directory for an in-memory database).
    func archivePath(_ file: String) throws -> String {
        try ArchiveName.validate(file)
        let main = db.filename(schema)
        guard let slash = main.lastIndex(of: "/") else { return file }
        return String(main[...slash]) + file
    }

    /// Archive files are opened only where ATTACH could open them.
    func checkArchiveAccess(file: String, path: String) throws {
        if db.limit(SQLITE_LIMIT_ATTACHED) == 0 {
            throw ShardError("archive files are disabled on this connection (SQLITE_LIMIT_ATTACHED is 0)")
        }
        // Preparing (never running) an ATTACH of the file asks the connection's authorizer.
        do {
            _ = try db.prepare("ATTACH \(SQLText.literal(path)) AS \"shards archive check\"")
        } catch let e as SQLiteError where e.code == SQLITE_AUTH {
            throw SQLiteError(code: SQLITE_AUTH, reason: "not authorized to open archive file '\(file)' (the authorizer denies ATTACH)")
        }
    }

    /// The read-only connection of an archived shard's file, checked once per opening;
    /// refused on a replicated database, where that file would be this machine's alone.
    func archive(of shard: ShardInfo) throws -> Archives.Handle {
        let file = shard.file ?? ""
        try Replication.requireLocalFiles(db, schema: schema, for: "reading archived shard \(shard.keyText) from '\(file)'",
                                          because: Replication.archiveFile)
        let path: String
        do {
            path = try archivePath(file)
        } catch let e as ShardError {
            throw ShardError("\(e.message) (shard \(shard.keyText) of '\(name)')")
        }
        return try archives.handle(path, shard: shard.keyText) { db in
            try checkArchiveAccess(file: file, path: path)
            try verifyOwner(db, file: file, claim: false)
        }
    }

    /// A random id, kept in the collection's config, that its archives record.
    func ensureOwnerId() throws -> String {
        if let id = try recordedOwnerId() { return id }
        archives.ownerId = try store.ownerId(create: true)
        guard let id = archives.ownerId else { throw ShardError("cannot record the owner of '\(name)'") }
        return id
    }

    func recordedOwnerId() throws -> String? {
        if archives.ownerId == nil { archives.ownerId = try store.ownerId(create: false) }
        return archives.ownerId
    }

    /// Refuses a target that is one of this connection's own database files (the
    /// main database, say): archiving into it would destroy the shards it copies.
    func checkNotOwnDatabase(path: String, file: String) throws {
        var target = stat()
        guard stat(path, &target) == 0 else { return }   // not there yet: it will be new
        let list = try db.prepare("PRAGMA database_list")
        while try list.step() {
            guard let other = list.text(2), !other.isEmpty else { continue }
            var st = stat()
            if stat(other, &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino {
                throw ShardError("archive file '\(file)' is the database '\(list.text(1) ?? "?")' itself; choose another file")
            }
        }
    }

    /// Checks (and with `claim`, on an empty file, records) that the archive belongs to
    /// this collection. Runs inside the archive's write transaction when claiming.
    func verifyOwner(_ archive: Database, file: String, claim: Bool) throws {
        let hasOwner = try archive.scalarInt("SELECT count(*) FROM \"main\".sqlite_schema WHERE name = 'shards_owner'") ?? 0
        if hasOwner == 0 {
            let tables = try archive.scalarInt("SELECT count(*) FROM \"main\".sqlite_schema") ?? 0
            guard claim, tables == 0 else {
                throw ShardError("file '\(file)' is not an archive of collection '\(name)'"
                    + (tables == 0 ? " (it records no owner)" : " (it holds other tables)"))
            }
            let id = try ensureOwnerId()
            try archive.exec(ShardSchema.createArchiveOwner)
            let put = try archive.prepare("INSERT INTO \"main\".shards_owner(key, value) VALUES (?1, ?2)")
            let mainFile = db.filename(schema)
            for (k, v) in [("owner_id", id), ("collection", name), ("database", mainFile)] {
                try put.bind([.text(k), .text(v)])
                try put.run()
            }
            return
        }
        var recorded: [String: String] = [:]
        let read = try archive.prepare("SELECT key, value FROM \"main\".shards_owner")
        while try read.step() { if let k = read.text(0) { recorded[k] = read.text(1) ?? "" } }
        let id = claim ? try ensureOwnerId() : try recordedOwnerId()
        guard let id, recorded["owner_id"] == id, recorded["collection"] == name else {
            let owner = recorded["collection"] ?? "?"
            throw ShardError("archive file '\(file)' belongs to collection '\(owner)'"
                + (recorded["owner_id"] == id ? "" : " of another database") + ", not to '\(name)'; choose another file")
        }
    }
}
