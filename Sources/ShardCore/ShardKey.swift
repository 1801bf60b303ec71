/// Names one shard: `<collection>[:<category>][:<period>]:<seq>` (README, "How it is laid out"; ARCHITECTURE.md, "Shard tables").
public struct ShardKey: Hashable, Sendable {
    public let collection: String
    /// Already encoded by `CategoryName`; nil when the collection has no category.
    public let category: String?
    /// `Period.label`, "" for partition none.
    public let period: String
    /// 1 for a period's first shard, +1 per split; 0 for a table that merged finished shards (README, "Merging finished shards").
    public let seq: Int
    /// Which of a period's merged tables (seq 0) this is: `000`, then `000b`, `000c`, ...,
    /// `000z`, `000ba`, ... (the part number in base 26 with digits a-z, so keys and
    /// table names stay free of separators).
    public let part: Int

    public init(collection: String, category: String?, period: String, seq: Int, part: Int = 0) {
        self.collection = collection
        self.category = category
        self.period = period
        self.seq = seq
        self.part = seq == 0 ? max(part, 0) : 0
    }

    /// The key of merged table `part` of a period.
    public static func merged(collection: String, category: String?, period: String, part: Int) -> ShardKey {
        ShardKey(collection: collection, category: category, period: period, seq: 0, part: part)
    }

    public var isMerged: Bool { seq == 0 }

    /// The letters after `000` of merged part `part`: "" for 0, "b" for 1, "ba" for 26.
    static func partLetters(_ part: Int) -> [UInt8] {
        guard part > 0 else { return [] }
        var out: [UInt8] = []
        var n = part
        while n > 0 {
            out.append(UInt8(ascii: "a") + UInt8(n % 26))
            n /= 26
        }
        return out.reversed()
    }

    /// `events:2025:01:001`, `events:billing:2025:01:002`, `events:001`.
    public var text: String { render(withSeq: true) }

    /// The shadow table a shard with this key is created as: `events_2025-01-001`.
    public var tableName: String { ShardTableName.table(for: self) }

    /// `seq` zero-padded to three digits.
    static func seqText(_ seq: Int) -> String {
        let v = Int64(max(seq, 0))
        return ByteWriter.string(capacity: ByteWriter.digitCount(v, width: 3)) { $0.digits(v, width: 3) }
    }

    /// The key of the next split in the same line.
    public var next: ShardKey {
        ShardKey(collection: collection, category: category, period: period, seq: seq + 1)
    }

    /// The key without seq, naming the line of shards that split from each other: `events:2025:01`.
    public var line: String { render(withSeq: false) }

    /// The line as a dictionary key, without rendering its text: what the shards of
    /// one line share within a collection (its category and period).
    public struct Line: Hashable, Sendable {
        public let category: String?
        public let period: String
        public init(category: String?, period: String) {
            self.category = category
            self.period = period
        }
    }
    public var lineKey: Line { Line(category: category, period: period) }

    /// Joins the parts with ':' (a period label already uses ':' inside).
    private func render(withSeq: Bool) -> String {
        let separator = UInt8(ascii: ":")
        let seqValue = Int64(max(seq, 0))
        var capacity = collection.utf8.count
        if let category { capacity += 1 + category.utf8.count }
        if !period.isEmpty { capacity += 1 + period.utf8.count }
        let letters = withSeq ? ShardKey.partLetters(part) : []
        if withSeq { capacity += 1 + ByteWriter.digitCount(seqValue, width: 3) + letters.count }
        return ByteWriter.string(capacity: capacity) { w in
            w.text(collection)
            if let category {
                w.byte(separator)
                w.text(category)
            }
            if !period.isEmpty {
                w.byte(separator)
                w.text(period)
            }
            if withSeq {
                w.byte(separator)
                w.digits(seqValue, width: 3)
                for b in letters { w.byte(b) }
            }
        }
    }
}
