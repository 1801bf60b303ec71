#if canImport(Glibc)
import Glibc
#endif

/// The client side of dqlite's wire protocol, as much of it as joining a cluster
/// takes: LEADER, CLUSTER, ADD and ASSIGN. (libdqlite 1.11 has no C call for a
/// membership change; a node asks the leader the way any client would.)
///
/// The protocol: after connecting, the client sends the protocol version (1) as
/// one little-endian uint64. Each request and response is then an 8-byte header
/// (uint32 body length in 8-byte words, uint8 type, uint8 flags, uint16 extra)
/// followed by the body: uint64 fields little-endian, text NUL-terminated and
/// padded with zeros to a multiple of 8 bytes.
final class WireClient {
    enum Request: UInt8 {
        case leader = 0, add = 12, assign = 13, cluster = 16
    }
    enum Response: UInt8 {
        case failure = 0, server = 1, servers = 3, empty = 8
    }
    enum Role: UInt64 {
        case voter = 0, standby = 1, spare = 2
    }

    struct Member {
        let id: UInt64
        let address: String
        let role: UInt64
    }

    private let fd: Int32
    let address: String

    /// Connects and says hello; every later read or write waits at most `timeoutMs`.
    init(connectingTo address: String, timeoutMs: Int32) throws(NodeError) {
        self.address = address
        fd = try WireClient.connect(address, timeoutMs: timeoutMs)
        var hello = Body()
        hello.put(1)
        try send(hello.bytes)   // on failure, deinit closes the socket
    }

    deinit { close(fd) }

    /// The leader as this node knows it: (id, address), or nil while there is none.
    func leader() throws(NodeError) -> (id: UInt64, address: String)? {
        var body = Body()
        body.put(0)
        var reply = try call(.leader, body, expect: .server)
        let id = try reply.uint64()
        let address = try reply.text()
        return id == 0 || address.isEmpty ? nil : (id, address)
    }

    /// The cluster's members with their roles.
    func members() throws(NodeError) -> [Member] {
        var body = Body()
        body.put(1)   // format 1: id, address and role
        var reply = try call(.cluster, body, expect: .servers)
        var members: [Member] = []
        for _ in 0..<(try reply.uint64()) {
            members.append(Member(id: try reply.uint64(), address: try reply.text(), role: try reply.uint64()))
        }
        return members
    }

    /// ADD: the node joins the configuration (as a spare).
    func add(id: UInt64, address: String) throws(NodeError) {
        var body = Body()
        body.put(id)
        body.put(address)
        _ = try call(.add, body, expect: .empty)
    }

    /// ASSIGN: the node takes a role; the leader answers once it has caught up.
    func assign(id: UInt64, role: Role) throws(NodeError) {
        var body = Body()
        body.put(id)
        body.put(role.rawValue)
        _ = try call(.assign, body, expect: .empty)
    }

    private func call(_ type: Request, _ body: Body, expect: Response) throws(NodeError) -> Reader {
        var header = [UInt8](repeating: 0, count: 8)
        let words = UInt32(body.bytes.count / 8)
        for i in 0..<4 { header[i] = UInt8(truncatingIfNeeded: words >> (8 * UInt32(i))) }
        header[4] = type.rawValue
        try send(header + body.bytes)
        let replyHeader = try receive(8)
        let replyWords = Int(replyHeader[0]) | Int(replyHeader[1]) << 8 | Int(replyHeader[2]) << 16 | Int(replyHeader[3]) << 24
        var reply = Reader(bytes: try receive(replyWords * 8))
        if replyHeader[4] == Response.failure.rawValue {
            let code = (try? reply.uint64()) ?? 0
            let message = (try? reply.text()) ?? ""
            throw NodeError("\(address) refused \(type): \(message) (code \(code))", code: code)
        }
        guard replyHeader[4] == expect.rawValue else {
            throw NodeError("\(address) answered \(type) with message type \(replyHeader[4]), expected \(expect)")
        }
        return reply
    }

    private func send(_ bytes: [UInt8]) throws(NodeError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw NodeError("cannot write to \(address): \(errnoText())") }
            sent += n
        }
    }

    private func receive(_ count: Int) throws(NodeError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw NodeError("\(address) closed the connection") }
            guard n > 0 else { throw NodeError("no answer from \(address): \(errnoText())") }
            got += n
        }
        return bytes
    }

    /// A TCP connection to IPv4:PORT that gives up after `timeoutMs`.
    private static func connect(_ address: String, timeoutMs: Int32) throws(NodeError) -> Int32 {
        let parts = address.split(separator: ":")
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        guard parts.count == 2, let port = UInt16(parts[1]),
              inet_pton(AF_INET, String(parts[0]), &sa.sin_addr) == 1 else {
            throw NodeError("not an IPv4 address and port: '\(address)'")
        }
        sa.sin_port = port.bigEndian
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw NodeError("cannot make a socket: \(errnoText())") }
        var rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 && errno == EINPROGRESS {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            rc = poll(&p, 1, timeoutMs)
            if rc == 0 {
                close(fd)
                throw NodeError("cannot reach \(address): no answer within \(timeoutMs) ms")
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            errno = soError
            rc = soError == 0 ? 0 : -1
        }
        guard rc == 0 else {
            let why = errnoText()
            close(fd)
            throw NodeError("cannot reach \(address): \(why)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var tv = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int(timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }
}

/// A message body being written: 8-byte words.
private struct Body {
    var bytes: [UInt8] = []

    mutating func put(_ value: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func put(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(0)
        while bytes.count % 8 != 0 { bytes.append(0) }
    }
}

/// A message body being read.
private struct Reader {
    let bytes: [UInt8]
    var at = 0

    mutating func uint64() throws(NodeError) -> UInt64 {
        guard at + 8 <= bytes.count else { throw NodeError("short message from the cluster") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        at += 8
        return value
    }

    mutating func text() throws(NodeError) -> String {
        guard let end = bytes[at...].firstIndex(of: 0) else { throw NodeError("short message from the cluster") }
        let text = String(decoding: bytes[at..<end], as: UTF8.self)
        at = (end + 8) & ~7
        return text
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
