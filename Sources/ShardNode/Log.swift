#if canImport(Glibc)
import Glibc
#endif

/// One line per event on standard error: UTC time, the node, what happened.
struct Log {
    let node: UInt64

    func event(_ text: String) {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let stamp = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
        let line = "\(stamp) shards-node \(node): \(text)\n"
        _ = line.withCString { fputs($0, stderr) }
    }
}
