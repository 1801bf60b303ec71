/// The file a shard_archive call names, and the file a catalog row says an archived
/// shard is in: a relative path inside the main database's folder, so neither SQL nor
/// a tampered catalog can make the extension write or read a file elsewhere.
///
/// Allowed: components separated by `/`, none empty, `.` or `..`; no `\`, `:` (which
/// could make a URI or `:memory:`) or NUL; not a journal, WAL or shm file's name.
public enum ArchiveName {
    public static let maxLength = 512

    public static func validate(_ name: String) throws {
        func refuse(_ why: String) -> ShardError {
            ShardError("archive file \(Message.quote(name)) is not allowed: \(why); an archive file is a "
                + "relative path inside the main database's folder, like 'cold.db' or 'archive/2025.db'")
        }
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw refuse("the name is empty") }
        guard bytes.count <= maxLength else { throw refuse("longer than \(maxLength) bytes") }
        guard bytes.first != UInt8(ascii: "/") else { throw refuse("it is an absolute path") }
        for b in bytes {
            switch b {
            case 0: throw refuse("it contains NUL")
            case UInt8(ascii: "\\"): throw refuse("it contains '\\'")
            case UInt8(ascii: ":"): throw refuse("it contains ':'")
            default: continue
            }
        }
        for part in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw refuse("it has an empty folder name") }
            guard part != ".", part != ".." else { throw refuse("it contains '\(part)'") }
        }
        for suffix in ["-journal", "-wal", "-shm"] where name.hasSuffix(suffix) {
            throw refuse("that is the name of a database's \(suffix.dropFirst()) file")
        }
    }
}
