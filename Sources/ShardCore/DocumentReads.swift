/// The paths several readers of one inserted document want, read in a single
/// `DocumentScanner` pass: placement's (the time, then the category) first, at their
/// own positions, then each rollup's (its groups', then its measures'), every distinct
/// path once (four measures of `$.dur` read it once). A reader finds its values at
/// `positions(of:)`.
///
/// The scanner's value at a path does not depend on the other paths of the pass, so
/// each reader gets what a pass over its own paths would give, whenever the shared
/// pass answers. The shared pass reads further into the document (to the last path
/// any reader wants) and so may give up (nil) where a reader's own pass would not:
/// each reader then scans on its own, as it would without sharing.
public struct DocumentReads: Sendable {
    /// What one pass reads: `first`, then the other readers' paths not already in it.
    public private(set) var paths: [JSONPath]
    /// Per reader added, where each of its paths is in `paths`.
    private var readers: [[Int]] = []

    /// A pass reading `first` (placement's paths) at positions 0..<first.count.
    public init(first: [JSONPath]) { paths = first }

    /// Adds a reader of `list`; returns its number (for `positions(of:)`).
    @discardableResult
    public mutating func add(_ list: [JSONPath]) -> Int {
        readers.append(list.map { path in
            if let i = paths.firstIndex(of: path) { return i }
            paths.append(path)
            return paths.count - 1
        })
        return readers.count - 1
    }

    /// Where reader `reader`'s paths are read: its path i at `positions(of: reader)[i]`.
    public func positions(of reader: Int) -> [Int] { readers[reader] }

    /// The readers added.
    public var count: Int { readers.count }
}
