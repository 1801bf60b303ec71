/// An error a user can act on: the message reaches SQL as the statement's error.
public struct ShardError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
