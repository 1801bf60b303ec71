/// One `index` option: a column of the collection backed by a functional index
/// on `json_extract(doc, path)` in every shard.
public struct IndexSpec: Hashable, Sendable {
    public let name: String
    public let path: JSONPath

    /// Columns every collection has; an index column may not shadow them.
    public static let reservedNames = ["id", "ts", "shard", "doc", "filter"]

    public init(name: String, path: JSONPath) {
        self.name = name
        self.path = path
    }

    /// `name: $.path`, or `$.path` named after its last step.
    public init(parsing spec: String) throws {
        let text = ASCII.trimmed(spec)
        let context = "bad index \(Message.quote(text))"
        let explicitName: String?
        let pathText: Substring
        if text.hasPrefix("$") {
            explicitName = nil
            pathText = Substring(text)
        } else if let colon = text.firstIndex(of: ":") {
            explicitName = ASCII.trimmed(String(text[..<colon]))
            pathText = text[text.index(after: colon)...]
        } else {
            throw ShardError("shards: \(context): expected '$.path' or 'name: $.path'")
        }
        let path = try JSONPath.field(String(pathText), context: context)
        guard let name = explicitName ?? path.defaultColumnName else {
            throw ShardError("shards: \(context): the path does not end in a plain name; "
                + "give the column a name, e.g. 'name: \(path.text)'")
        }
        guard ASCII.isIdentifier(name) else {
            throw ShardError("shards: \(context): column name \(Message.quote(name)) must be letters, digits "
                + "and _ (starting with a letter or _), at most 64 characters")
        }
        guard !IndexSpec.reservedNames.contains(ASCII.lowercased(name)) else {
            throw ShardError("shards: \(context): column name '\(name)' is taken by a built-in column "
                + "(\(IndexSpec.reservedNames.joined(separator: ", "))); "
                + "give another name, e.g. 'my_\(name): \(path.text)'")
        }
        self.init(name: name, path: path)
    }
}
