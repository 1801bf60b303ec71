#if canImport(Glibc)
import Glibc
#endif

/// Joining: a node asks the cluster's leader to ADD it, then to ASSIGN it the voter
/// role, the two requests go-dqlite's `app` package makes. It asks on every start
/// that has --join, so a join cut short (added, never promoted) completes on restart.
struct Membership {
    let id: UInt64
    let address: String
    let seeds: [String]
    let log: Log

    /// The leader's address, asked of each seed in turn until one knows it or
    /// `seconds` have passed.
    func findLeader(seconds: Int) throws(NodeError) -> (id: UInt64, address: String) {
        let deadline = monotonicSeconds() + Double(seconds)
        var lastError = "no answer"
        while true {
            for seed in seeds where seed != address {
                do throws(NodeError) {
                    let client = try WireClient(connectingTo: seed, timeoutMs: 2000)
                    if let leader = try client.leader() { return leader }
                    lastError = "\(seed) knows no leader"
                } catch {
                    lastError = error.message
                }
            }
            if monotonicSeconds() >= deadline {
                throw NodeError("cannot join the cluster through \(seeds.joined(separator: ",")) within \(seconds) s: \(lastError)")
            }
            usleep(200_000)
        }
    }

    /// Makes this node a voter, retrying while the leader is being elected or is busy
    /// with another membership change, for at most `seconds`.
    func becomeVoter(seconds: Int) throws(NodeError) {
        let deadline = monotonicSeconds() + Double(seconds)
        while true {
            do throws(NodeError) {
                let leader = try findLeader(seconds: max(1, Int(deadline - monotonicSeconds())))
                let client = try WireClient(connectingTo: leader.address, timeoutMs: 30_000)
                if let me = try client.members().first(where: { $0.id == id }) {
                    guard me.address == address else {
                        throw NodeError("node id \(id) is already a member of the cluster at \(me.address), not \(address)", final: true)
                    }
                    if me.role == WireClient.Role.voter.rawValue {
                        log.event("already a voter of the cluster led by node \(leader.id) at \(leader.address)")
                        return
                    }
                } else {
                    try client.add(id: id, address: address)
                    log.event("added to the cluster by leader node \(leader.id) at \(leader.address)")
                }
                try client.assign(id: id, role: .voter)
                log.event("voter of the cluster led by node \(leader.id) at \(leader.address)")
                return
            } catch {
                if error.final || monotonicSeconds() >= deadline { throw error }
                usleep(300_000)
            }
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Logs who leads the cluster, as the node itself sees it, each time that changes.
struct LeaderWatch {
    let address: String
    let log: Log
    private var client: WireClient?
    private var last: String?

    init(address: String, log: Log) {
        self.address = address
        self.log = log
    }

    mutating func check() {
        do throws(NodeError) {
            if client == nil { client = try WireClient(connectingTo: address, timeoutMs: 1000) }
            let now = try client!.leader().map { "node \($0.id) at \($0.address) leads" } ?? "no leader known"
            if now != last { log.event(now) }
            last = now
        } catch {
            client = nil
        }
    }
}
