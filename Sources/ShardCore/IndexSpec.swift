/// One `index` option: a column of the collection backed by a functional index
/// on `json_extract(doc, path)` in every shard, optionally with a declared type.
public struct IndexSpec: Hashable, Sendable {
    public let name: String
    public let path: JSONPath
    /// The column's declared type; nil: none, like `json_extract` itself.
    public let type: ColumnType?

    /// A declared type gives the column SQLite's affinity of that name: a value it is
    /// compared with is converted first (`'570'` to 570 for `integer`, 570 to `'570'`
    /// for `text`), so numbers bound as text still match.
    public enum ColumnType: String, CaseIterable, Sendable {
        case integer, real, text

        /// As written in the column's declaration.
        public var declared: String { rawValue.uppercased() }
    }

    /// Columns every collection has; an index column may not shadow them.
    public static let reservedNames = ["id", "ts", "shard", "doc", "filter"]

    public init(name: String, path: JSONPath, type: ColumnType? = nil) {
        self.name = name
        self.path = path
        self.type = type
    }

    /// `name: $.path [type]`, as `init(parsing:)` reads it back.
    public var text: String { name + ": " + path.text + (type.map { " " + $0.rawValue } ?? "") }

    /// The spec has a name of its own (`name: $.path`), not one taken from the path.
    public static func hasExplicitName(_ spec: String) -> Bool {
        let text = ASCII.trimmed(spec)
        return !text.hasPrefix("$") && text.contains(":")
    }

    /// `name: $.path`, or `$.path` named after its last step; either followed by a type.
    public init(parsing spec: String) throws {
        let text = ASCII.trimmed(spec)
        let context = "bad index \(Message.quote(text))"
        let (body, type) = try IndexSpec.splitType(text, context: context)
        let explicitName: String?
        let pathText: Substring
        if body.hasPrefix("$") {
            explicitName = nil
            pathText = Substring(body)
        } else if let colon = body.firstIndex(of: ":") {
            explicitName = ASCII.trimmed(String(body[..<colon]))
            pathText = body[body.index(after: colon)...]
        } else {
            throw ShardError("\(context): expected '$.path' or 'name: $.path', then optionally a type "
                + "(e.g. 'user: $.user.id integer')")
        }
        let path = try JSONPath.field(String(pathText), context: context)
        guard let name = explicitName ?? path.defaultColumnName else {
            throw ShardError("\(context): the path does not end in a plain name; "
                + "give the column a name, e.g. 'name: \(path.text)'")
        }
        guard ASCII.isIdentifier(name) else {
            throw ShardError("\(context): column name \(Message.quote(name)) must be letters, digits "
                + "and _ (starting with a letter or _), at most 64 characters")
        }
        guard !IndexSpec.reservedNames.contains(ASCII.lowercased(name)) else {
            throw ShardError("\(context): column name '\(name)' is taken by a built-in column "
                + "(\(IndexSpec.reservedNames.joined(separator: ", "))); "
                + "give another name, e.g. 'my_\(name): \(path.text)'")
        }
        self.init(name: name, path: path, type: type)
    }

    /// The spec without a trailing type word, and that type. A last word of letters
    /// only after a space is a type (a path's own words sit inside quotes: `$."a b"`).
    private static func splitType(_ text: String, context: String) throws -> (String, ColumnType?) {
        guard let space = text.lastIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, nil) }
        let word = String(text[text.index(after: space)...])
        guard !word.isEmpty, word.utf8.allSatisfy({ ASCII.isLetter($0) }) else { return (text, nil) }
        guard let type = ColumnType(rawValue: ASCII.lowercased(word)) else {
            throw ShardError("\(context): unknown type \(Message.quote(word)); valid: "
                + ColumnType.allCases.map(\.rawValue).joined(separator: ", ") + ", or none")
        }
        return (ASCII.trimmed(String(text[..<space])), type)
    }
}
