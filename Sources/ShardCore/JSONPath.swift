/// A validated JSON path (README, "Options"): `$` then `.name`, `."any text"` or `[N]` steps.
/// Only these ever reach SQL, always through `text`, rendered by us from `steps`.
public struct JSONPath: Hashable, Sendable {
    public enum Step: Hashable, Sendable { case key(String), index(Int) }

    /// Canonical spelling: plain names as `.name`, other keys as `."..."`.
    public let text: String
    public let steps: [Step]

    public static let maxLength = 1000

    /// Parses a path as written by a user; surrounding whitespace is ignored.
    public init(parsing source: String) throws {
        self.init(validSteps: try JSONPathParser.steps(of: ASCII.trimmed(source)))
    }

    /// A dotted field of a query document: `user.id` is `$.user.id`, each part a key.
    /// A field starting with `$` is a full path.
    public init(dottedField field: String) throws {
        if field.utf8.first == UInt8(ascii: "$") {
            try self.init(parsing: field)
            return
        }
        var steps: [Step] = []
        for part in field.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !part.isEmpty else {
                throw ShardError("bad field name \(Message.quote(field)): empty name; "
                    + "write fields as name or name.name")
            }
            guard !part.contains(0x22), !part.contains(0), !part.contains(UInt8(ascii: "\\")) else {
                throw ShardError("bad field name \(Message.quote(field)): "
                    + "a name containing '\"', '\\' or NUL cannot be used in a JSON path")
            }
            steps.append(.key(String(decoding: part, as: UTF8.self)))
        }
        self.init(validSteps: steps)
        guard text.count <= JSONPath.maxLength else {
            throw ShardError("bad field name \(Message.quote(field)): "
                + "longer than \(JSONPath.maxLength) characters")
        }
    }

    /// Steps already known to be representable (keys without `"`, `\` or NUL, indexes >= 0).
    init(validSteps steps: [Step]) {
        self.steps = steps
        self.text = JSONPath.render(steps)
    }

    /// Name for an index column: the last step when it is a plain identifier, else nil.
    public var defaultColumnName: String? {
        guard case .key(let name)? = steps.last, ASCII.isIdentifier(name, maxLength: Int.max) else {
            return nil
        }
        return name
    }

    private static func render(_ steps: [Step]) -> String {
        var out = "$"
        for step in steps {
            switch step {
            case .key(let name) where !name.isEmpty && name.utf8.allSatisfy(ASCII.isWordByte):
                out += "." + name
            case .key(let name):
                out += ".\"" + name + "\""
            case .index(let n):
                out += "[" + String(n) + "]"
            }
        }
        return out
    }
}
