import CDqlite
#if canImport(Glibc)
import Glibc
#endif

/// One dqlite node of this process: created on a data directory, bound to its
/// address, started (dqlite runs it on a thread of its own), stopped.
final class DqliteNode {
    private let handle: OpaquePointer
    private var running = false

    init(id: UInt64, address: String, dir: String) throws(NodeError) {
        if let problem = shard_dqlite_load() { throw NodeError(String(cString: problem), final: true) }
        var node: OpaquePointer?
        let rc = shard_dqlite_node_create(id, address, dir, &node)
        guard rc == 0, let node else {
            let why = node.map { String(cString: shard_dqlite_node_errmsg($0)) } ?? "error \(rc)"
            if let node { shard_dqlite_node_destroy(node) }
            throw NodeError("cannot create node \(id) in \(dir): \(why)")
        }
        handle = node
    }

    deinit {
        if running { stop() }
        shard_dqlite_node_destroy(handle)
    }

    /// Binds the listening socket now, so a used port is an error before start.
    func bind(_ address: String) throws(NodeError) {
        errno = 0
        if shard_dqlite_node_set_bind_address(handle, address) != 0 {
            throw NodeError("cannot listen on \(address): \(errno != 0 ? errnoText() : "bad address")")
        }
    }

    func start() throws(NodeError) {
        if shard_dqlite_node_start(handle) != 0 {
            throw NodeError("cannot start: \(String(cString: shard_dqlite_node_errmsg(handle)))")
        }
        running = true
    }

    /// Stops the node: dqlite closes its connections and the Raft log cleanly.
    func stop() {
        guard running else { return }
        running = false
        _ = shard_dqlite_node_stop(handle)
    }
}

struct NodeError: Error {
    let message: String
    /// The dqlite/SQLite/Raft code of a refused request, 0 otherwise.
    let code: UInt64
    /// Trying again cannot help (the id is taken by another address, say).
    let final: Bool
    init(_ message: String, code: UInt64 = 0, final: Bool = false) {
        self.message = message
        self.code = code
        self.final = final
    }
}
