/// Collection names become prefixes of shadow table names, so they are kept plain.
public enum CollectionName {
    public static func validate(_ name: String) throws {
        guard ASCII.isIdentifier(name) else {
            throw ShardError("collection name \(Message.quote(name)) must be letters, digits and _ "
                + "(starting with a letter or _), at most 64 characters")
        }
    }
}
