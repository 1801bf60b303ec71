/// An error a user can act on: its reason reaches SQL as the statement's error,
/// with the extension's "shards: " prefix put in front once, at that boundary
/// (`message`).
public struct ShardError: Error, Equatable, CustomStringConvertible, Sendable {
    public static let prefix = "shards: "

    /// What went wrong, without the prefix ("no such collection: events").
    public let reason: String

    /// `reason` is written without the prefix; `message` adds it.
    public init(_ reason: String) {
        self.reason = reason
    }

    /// The text SQL sees: "shards: " + reason.
    public var message: String { Self.prefix + reason }
    public var description: String { message }

    /// The same error with `context` in front: "shards: option time: bad JSON path ...".
    public func within(_ context: String) -> ShardError {
        ShardError(context + ": " + reason)
    }
}
