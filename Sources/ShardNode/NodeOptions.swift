/// The command line of shards-node, checked before anything starts.
///
///     shards-node --id 1 --address 127.0.0.1:9001 --dir data/1
///     shards-node --id 2 --address 127.0.0.1:9002 --dir data/2 --join 127.0.0.1:9001
///
/// Node 1 bootstraps a new cluster on its first start (dqlite bootstraps only id 1);
/// any other id joins through `--join` the first time and restarts from its dir.
struct NodeOptions {
    var id: UInt64
    var address: String
    var dir: String
    var join: [String]

    static let usage = """
        usage: shards-node --id N --address IP:PORT --dir PATH [--join IP:PORT[,IP:PORT...]]
          --id       the node's id, a positive integer; id 1 bootstraps a new cluster
          --address  where the node listens and where the others reach it (IPv4)
          --dir      the node's data directory (made if absent)
          --join     nodes of an existing cluster to join through, as a voter
        """

    static func parse(_ arguments: [String]) throws(UsageError) -> NodeOptions {
        var values: [String: String] = [:]
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "-h" || argument == "--help" { throw UsageError("", helpOnly: true) }
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument '\(argument)'") }
            var name = String(argument.dropFirst(2))
            var value: String
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            } else {
                i += 1
                guard i < arguments.count else { throw UsageError("--\(name) needs a value") }
                value = arguments[i]
            }
            guard ["id", "address", "dir", "join"].contains(name) else { throw UsageError("unknown flag --\(name)") }
            guard values[name] == nil else { throw UsageError("--\(name) is given twice") }
            values[name] = value
            i += 1
        }
        guard let idText = values["id"] else { throw UsageError("--id is required") }
        guard let id = UInt64(idText), id > 0 else { throw UsageError("--id must be a positive integer, not '\(idText)'") }
        guard let address = values["address"] else { throw UsageError("--address is required") }
        try checkAddress(address, flag: "--address")
        guard let dir = values["dir"], !dir.isEmpty else { throw UsageError("--dir is required") }
        var join: [String] = []
        if let list = values["join"] {
            join = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for a in join { try checkAddress(a, flag: "--join") }
            if id == 1 {
                throw UsageError("node 1 bootstraps a new cluster; a node that joins one needs another --id")
            }
        }
        return NodeOptions(id: id, address: address, dir: dir, join: join)
    }

    /// IPv4 dotted quad and a port: what dqlite 1.11 binds and dials.
    static func checkAddress(_ address: String, flag: String) throws(UsageError) {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        let octets = parts.first?.split(separator: ".", omittingEmptySubsequences: false) ?? []
        guard parts.count == 2, octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }),
              let port = UInt16(parts[1]), port > 0 else {
            throw UsageError("\(flag) must be IPv4:PORT, like 127.0.0.1:9001, not '\(address)'")
        }
    }
}

struct UsageError: Error {
    let message: String
    let helpOnly: Bool
    init(_ message: String, helpOnly: Bool = false) {
        self.message = message
        self.helpOnly = helpOnly
    }
}
