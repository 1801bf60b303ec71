/// One module argument of `CREATE VIRTUAL TABLE ... USING shards(...)`, as the raw
/// text SQLite hands over: `key = value`, value bare or quoted with '...' or "...".
struct OptionArgument {
    /// Lowercased: option names are case-insensitive like SQL keywords.
    let key: String
    /// The key as written, for messages.
    let spelledKey: String
    /// Unquoted, surrounding whitespace removed.
    let value: String

    init(parsing raw: String) throws {
        let text = ASCII.trimmed(raw)
        guard let equals = text.firstIndex(of: "=") else {
            throw ShardError("bad argument \(Message.quote(text)); expected key = value, "
                + "e.g. partition = month")
        }
        spelledKey = ASCII.trimmed(String(text[..<equals]))
        guard !spelledKey.isEmpty else {
            throw ShardError("bad argument \(Message.quote(text)): the option name before '=' is missing")
        }
        key = ASCII.lowercased(spelledKey)
        let rawValue = ASCII.trimmed(String(text[text.index(after: equals)...]))
        guard let value = OptionArgument.unquote(rawValue) else {
            throw ShardError("option \(spelledKey) has a badly quoted value \(Message.quote(rawValue)); "
                + "close the quote, and double a quote inside it ('it''s')")
        }
        guard !value.isEmpty else {
            throw ShardError("option \(spelledKey) has no value; write \(key) = <value>")
        }
        self.value = value
    }

    /// Reads `arguments` in order, handing each option of `Key` and its value to
    /// `apply`: an unknown option, or one given twice that is not in `repeatable`, is an
    /// error naming it (`repeatableNames` says which may repeat, for the message).
    /// Returns the options given.
    @discardableResult
    static func read<Key>(_ arguments: [String], repeatable: Set<Key>, repeatableNames: String,
                          _ apply: (Key, String) throws -> Void) throws -> Set<Key>
        where Key: RawRepresentable & CaseIterable & Hashable, Key.RawValue == String {
        var seen = Set<Key>()
        for raw in arguments {
            let argument = try OptionArgument(parsing: raw)
            guard let key = Key(rawValue: argument.key) else {
                throw ShardError("unknown option \(Message.quote(argument.spelledKey)); valid options: "
                    + Key.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard seen.insert(key).inserted || repeatable.contains(key) else {
                throw ShardError("option \(key.rawValue) is given twice; only \(repeatableNames) may repeat")
            }
            try apply(key, argument.value)
        }
        return seen
    }

    /// Bare text as is; '...' or "..." with a doubled quote inside read as one; nil when malformed.
    static func unquote(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let mark = bytes.first, mark == 0x27 || mark == 0x22 else { return text }
        guard bytes.count >= 2, bytes.last == mark else { return nil }
        var out: [UInt8] = []
        var i = 1
        while i < bytes.count - 1 {
            if bytes[i] == mark {
                guard i + 1 < bytes.count - 1, bytes[i + 1] == mark else { return nil }
                i += 1
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension JSONPath {
    /// A path that names a field: the root `$` is the whole document, never a time,
    /// category or useful index.
    static func field(_ source: String, context: String) throws -> JSONPath {
        let path: JSONPath
        do { path = try JSONPath(parsing: source) } catch let error as ShardError { throw error.within(context) }
        guard !path.steps.isEmpty else {
            throw ShardError("\(context): the path '$' is the whole document; name a field, e.g. '$.name'")
        }
        return path
    }
}
