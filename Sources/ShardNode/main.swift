import CDqlite
#if canImport(Glibc)
import Glibc
#endif

/// shards-node: a dqlite node whose every SQLite connection has the shards
/// extension. Clients (the `dqlite` shell, wire-protocol libraries) connect to any
/// node; statements run on the leader and Raft replicates what they write.
func runNode() -> Int32 {
    let options: NodeOptions
    do throws(UsageError) {
        options = try NodeOptions.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
        if error.helpOnly {
            print(NodeOptions.usage)
            return 0
        }
        fputs("shards-node: \(error.message)\n\(NodeOptions.usage)\n", stderr)
        return 2
    }
    let log = Log(node: options.id)
    do throws(NodeError) {
        try run(options, log)
        return 0
    } catch {
        log.event("error: \(error.message)")
        return 1
    }
}

private func run(_ options: NodeOptions, _ log: Log) throws(NodeError) {
    try makeDirectories(options.dir)
    let fresh = !hasRaftState(options.dir)
    let membership = Membership(id: options.id, address: options.address, seeds: options.join, log: log)
    if fresh && options.id != 1 {
        guard !options.join.isEmpty else {
            throw NodeError("node \(options.id) has no data in \(options.dir): give --join to join a cluster (only node 1 bootstraps one)")
        }
    }

    // Every connection the node opens gets the extension. Registering initialises
    // SQLite, so it comes after any sqlite3_config (this process makes none).
    guard shard_node_register_extension() == SQLITE_OK else {
        throw NodeError("cannot register the shards extension with SQLite")
    }
    // SIGTERM and SIGINT are taken by sigwait below: block them before dqlite starts
    // its thread, which inherits the mask. A peer that hangs up must not kill us.
    // SIGUSR1 is the join thread's way to say the node must stop because it failed.
    var stopSignals = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGTERM)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGUSR1)
    pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
    signal(SIGPIPE, SIG_IGN)

    let node = try DqliteNode(id: options.id, address: options.address, dir: options.dir)
    try node.bind(options.address)
    if fresh && options.id != 1 {
        // Before dqlite writes anything: a node that cannot reach the cluster leaves no state.
        _ = try membership.findLeader(seconds: 10)
    }
    try node.start()
    let how = !fresh ? "restarted from its data" : options.id == 1 ? "bootstrapped a new cluster" : "joining"
    log.event("started at \(options.address), data in \(options.dir), \(how)")

    // Joining takes a while (the leader must catch the node up): it runs on a thread
    // of its own, so a stop signal is taken at once meanwhile.
    var joinError: NodeError?
    if !options.join.isEmpty {
        startThread {
            do throws(NodeError) {
                try membership.becomeVoter(seconds: fresh ? 60 : 5)
            } catch {
                if fresh || error.final {
                    joinError = error
                    kill(getpid(), SIGUSR1)
                } else {
                    log.event("could not check membership (\(error.message)); running with the membership recorded in \(options.dir)")
                }
            }
        }
    }

    // Until a stop signal: once a second, ask the node who leads, and log changes.
    var watch = LeaderWatch(address: options.address, log: log)
    var received: Int32 = -1
    var second = timespec(tv_sec: 1, tv_nsec: 0)
    while received < 0 {
        received = sigtimedwait(&stopSignals, nil, &second)
        if received < 0 { watch.check() }
    }
    if received == SIGUSR1, let joinError {
        node.stop()
        throw joinError
    }
    log.event("\(received == SIGTERM ? "SIGTERM" : "SIGINT") received, stopping")
    node.stop()
    log.event("stopped")
}

/// Runs `body` on a new detached thread.
private func startThread(_ body: @escaping () -> Void) {
    final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(Body(body)).toOpaque()
    pthread_create(&thread, nil, { context in
        Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
        return nil
    }, context)
    pthread_detach(thread)
}

/// Raft keeps its term and vote in metadata1/metadata2 from a node's first start.
private func hasRaftState(_ dir: String) -> Bool {
    access(dir + "/metadata1", F_OK) == 0 || access(dir + "/metadata2", F_OK) == 0
}

/// mkdir -p.
private func makeDirectories(_ path: String) throws(NodeError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part + "/"
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw NodeError("cannot make the data directory \(path): \(errnoText())")
        }
    }
}

exit(runNode())
