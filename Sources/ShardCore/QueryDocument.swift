/// Query documents: the `filter` of README's "Reads and routing", compiled to one SQL condition on `doc`.
///
/// A query document is a JSON object; `{}` matches every row. Its members are ANDed.
///
/// - `"field": value` tests one field. The field is a dotted path from the document
///   root (`"user.id"` is `$.user.id`, each part a key); a field that is `$` or starts
///   with `$.` or `$[` is a full JSON path (`"$.tags[0]"`). The field is read as
///   `json_extract(doc, '<path>')`, spelled exactly as the shards' functional indexes
///   are, so an indexed path is answered from its index.
/// - A scalar value means `$eq`:
///   - a string or number matches an equal value; numbers compare as numbers, so
///     `{"n": 1}` also matches `"n": 1.0`, and a number never equals a string;
///   - `true` / `false` match `1` / `0`: json_extract turns JSON booleans into the
///     integers 1 and 0, so `{"a": true}` also matches `"a": 1`;
///   - `null` matches a JSON null or a missing field (json_extract gives NULL for both).
/// - An array value is an error (write `{"$in": [...]}`); an object value holds
///   operators only, ANDed when there are several:
///   - `$eq`: as a scalar value above.
///   - `$ne`: anything but that value, a missing field included (`IS NOT`);
///     `{"$ne": null}` matches fields that are present and not null.
///   - `$gt $gte $lt $lte` take a number or a string and compare as SQLite does. A
///     missing or null field never matches. Every number sorts before every string
///     (objects and arrays read as their JSON text), so `{"$gt": 5}` also matches
///     every string, object and array, and `{"$lt": "m"}` every number.
///   - `$in`: a non-empty array of scalars; matches a field equal to any of them
///     (a `null` element: also a null or missing field).
///   - `$nin`: a non-empty array of scalars; matches a field equal to none of them,
///     a null or missing field included unless the array holds `null`.
///   - `$exists`: `true` matches when the path is present (even as JSON null),
///     `false` when it is absent.
/// - `$and` / `$or` (as members of a query document, at any depth of nesting) take a
///   non-empty array of query documents, all of which / one of which must match.
/// - Any other member starting with `$` (`$not`, `$nor`, ...) is an error, as is an
///   unknown operator under a field, and an object value mixing operators with plain
///   keys. To test a nested field write its dotted path: `{"user.id": 5}`.
///
/// Strings and numbers reach SQL as parameters (?N), never as text. Every condition
/// is parenthesised. Equal documents compile to identical SQL, parameters numbered
/// in order of appearance. At most 1000 parameters; nesting at most 64 deep.
///
/// An object or array in a document reads as its JSON text through json_extract,
/// so `{"a": "[1]"}` also matches `"a": [1]`.
///
/// Errors say where: `shards: bad query document at user.id.$in: expected a non-empty
/// array of scalars`, `shards: bad query document at $or[1]: expected an object`.
public enum QueryDocument {
    public static let maxParameters = 1000

    /// The operators a field's object value may hold, in the order error messages list them.
    public static let fieldOperators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]

    public static func compile(_ text: String, firstParameter: Int) throws -> CompiledQuery {
        guard firstParameter >= 1 && firstParameter <= Int(Int32.max) - maxParameters else {
            throw ShardError("bad query document: first parameter number \(firstParameter) out of range")
        }
        let root = try JSONValue.parse(text)
        guard case .object(let members) = root else {
            throw ShardError("bad query document: expected a JSON object, got \(root.kindName)")
        }
        var compiler = QueryCompiler(firstParameter: firstParameter)
        let sql = try compiler.document(members, at: "")
        return CompiledQuery(sql: sql, parameters: compiler.parameters, paths: compiler.paths,
                             conditions: compiler.conditions)
    }
}

public enum SQLParameter: Equatable, Sendable { case null, integer(Int64), real(Double), text(String) }

public struct CompiledQuery: Equatable, Sendable {
    /// A boolean SQL expression over a shard table's `doc` column, with parameters ?N
    /// numbered from the firstParameter given to compile.
    public let sql: String
    public let parameters: [SQLParameter]
    /// Every path the query reads, in order of first use, without duplicates.
    public let paths: [JSONPath]
    /// Conditions every matching row meets (those not under `$or`): `=`, `IN`, ranges
    /// and NULL tests, for skipping shards by their summaries.
    public let conditions: [SummaryCondition]

    public init(sql: String, parameters: [SQLParameter], paths: [JSONPath], conditions: [SummaryCondition] = []) {
        self.sql = sql
        self.parameters = parameters
        self.paths = paths
        self.conditions = conditions
    }
}

private struct QueryCompiler {
    let firstParameter: Int
    var parameters: [SQLParameter] = []
    var paths: [JSONPath] = []
    var seenPaths = Set<[UInt8]>()
    var conditions: [SummaryCondition] = []
    /// Under `$or` a condition is one of several ways to match, not a requirement.
    var underOr = 0

    init(firstParameter: Int) { self.firstParameter = firstParameter }

    // MARK: Locations and errors

    /// `a.b` + `$in` is `a.b.$in`; the root location is empty.
    private static func location(_ base: String, _ part: String) -> String {
        var shown = String.UnicodeScalarView()
        for s in part.unicodeScalars {
            if s == "\0" { shown.append(contentsOf: "\\0".unicodeScalars) } else { shown.append(s) }
        }
        let part = String(shown)
        return base.isEmpty ? part : base + "." + part
    }

    private static func failure(_ location: String, _ what: String) -> ShardError {
        location.isEmpty
            ? ShardError("bad query document: " + what)
            : ShardError("bad query document at \(location): " + what)
    }

    /// Keys that name a full JSON path rather than an operator.
    private static func isPathKey(_ key: String) -> Bool {
        let b = Array(key.utf8.prefix(2))
        return b.first == UInt8(ascii: "$") && (b.count == 1 || b[1] == UInt8(ascii: ".") || b[1] == UInt8(ascii: "["))
    }

    private static func isOperatorKey(_ key: String) -> Bool {
        key.utf8.first == UInt8(ascii: "$") && !isPathKey(key)
    }

    // MARK: Documents

    /// Members ANDed; `1` for none.
    mutating func document(_ members: [JSONMember], at base: String) throws -> String {
        var terms: [String] = []
        for member in members {
            let here = Self.location(base, member.key)
            switch member.key {
            case "$and":
                terms.append(try logical(member.value, joiner: "AND", at: here))
            case "$or":
                underOr += 1
                defer { underOr -= 1 }
                terms.append(try logical(member.value, joiner: "OR", at: here))
            case let key where Self.isOperatorKey(key):
                throw Self.failure(here, "unknown operator \(Message.quote(key)); a query document "
                    + "holds field names and $and, $or (field operators: "
                    + QueryDocument.fieldOperators.joined(separator: ", ") + ")")
            default:
                terms.append(try field(member.key, member.value, at: base))
            }
        }
        return Self.join(terms, "AND", empty: "1")
    }

    private static func join(_ terms: [String], _ joiner: String, empty: String) -> String {
        switch terms.count {
        case 0: return empty
        case 1: return terms[0]
        default: return "(" + terms.joined(separator: " \(joiner) ") + ")"
        }
    }

    private mutating func logical(_ value: JSONValue, joiner: String, at here: String) throws -> String {
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw Self.failure(here, "expected a non-empty array of query documents, got "
                + (value == .array([]) ? "an empty array" : value.kindName))
        }
        var terms: [String] = []
        for (n, element) in elements.enumerated() {
            let at = here + "[\(n)]"
            guard case .object(let members) = element else {
                throw Self.failure(at, "expected an object, got \(element.kindName)")
            }
            terms.append(try document(members, at: at))
        }
        return Self.join(terms, joiner, empty: "1")
    }

    // MARK: Fields

    private mutating func field(_ name: String, _ value: JSONValue, at base: String) throws -> String {
        let here = Self.location(base, name)
        let path: JSONPath
        do {
            path = try JSONPath(dottedField: name)
        } catch let error as ShardError {
            throw Self.failure(base, error.reason)
        }
        if seenPaths.insert(Array(path.text.utf8)).inserted { paths.append(path) }
        let operand = "json_extract(doc, " + SQLText.literal(path.text) + ")"

        switch value {
        case .array:
            throw Self.failure(here, "an array value needs $in")
        case .object(let members):
            let operators = members.filter { Self.isOperatorKey($0.key) }
            if operators.isEmpty {
                guard let first = members.first else {
                    throw Self.failure(here, "expected at least one operator ("
                        + QueryDocument.fieldOperators.joined(separator: ", ") + ")")
                }
                throw Self.failure(here, "an object value must hold operators ("
                    + QueryDocument.fieldOperators.joined(separator: ", ")
                    + "); to test a nested field write \(Message.quote(name + "." + first.key))")
            }
            if operators.count != members.count {
                let plain = members.first { !Self.isOperatorKey($0.key) }!
                throw Self.failure(here, "an object value cannot mix operators and plain keys "
                    + "(\(Message.quote(plain.key)))")
            }
            var terms: [String] = []
            for member in members {
                terms.append(try fieldOperator(member.key, member.value, operand: operand, path: path,
                                               at: Self.location(here, member.key)))
            }
            return Self.join(terms, "AND", empty: "1")
        default:
            return try equality(value, operand: operand, path: path, at: here)
        }
    }

    private mutating func fieldOperator(_ op: String, _ value: JSONValue, operand: String,
                                        path: JSONPath, at here: String) throws -> String {
        switch op {
        case "$eq":
            return try equality(value, operand: operand, path: path, at: here)
        case "$ne":
            guard let p = Self.scalar(value) else {
                throw Self.failure(here, "expected a string, number, boolean or null, got \(value.kindName)")
            }
            if p == .null { return "(\(operand) IS NOT NULL)" }
            return "(\(operand) IS NOT \(try bind(p, at: here)))"
        case "$gt", "$gte", "$lt", "$lte":
            let sqlOp = ["$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="][op]!
            switch value {
            case .integer, .double, .string:
                let range: [String: SummaryCondition.Op] = ["$gt": .gt, "$gte": .ge, "$lt": .lt, "$lte": .le]
                require(path, range[op]!, [Self.scalar(value)!])
                return "(\(operand) \(sqlOp) \(try bind(Self.scalar(value)!, at: here)))"
            default:
                throw Self.failure(here, "expected a number or a string, got \(value.kindName)")
            }
        case "$in", "$nin":
            return try membership(value, negated: op == "$nin", operand: operand, path: path, at: here)
        case "$exists":
            guard case .bool(let present) = value else {
                throw Self.failure(here, "expected true or false, got \(value.kindName)")
            }
            let test = "json_type(doc, " + SQLText.literal(path.text) + ")"
            return present ? "(\(test) IS NOT NULL)" : "(\(test) IS NULL)"
        case "$and", "$or":
            throw Self.failure(here, "unknown operator \(Message.quote(op)) under a field; "
                + "$and and $or take query documents and go beside fields, not under them "
                + "(field operators: " + QueryDocument.fieldOperators.joined(separator: ", ") + ")")
        default:
            throw Self.failure(here, "unknown operator \(Message.quote(op)); valid operators: "
                + QueryDocument.fieldOperators.joined(separator: ", "))
        }
    }

    private mutating func equality(_ value: JSONValue, operand: String, path: JSONPath, at here: String) throws -> String {
        guard let p = Self.scalar(value) else {
            throw Self.failure(here, "expected a string, number, boolean or null, got \(value.kindName)")
        }
        require(path, p == .null ? .isNull : .eq, [p])
        if p == .null { return "(\(operand) IS NULL)" }
        return "(\(operand) = \(try bind(p, at: here)))"
    }

    /// Records a condition every matching row meets; values that are not numbers or
    /// text (NULL) leave it out.
    private mutating func require(_ path: JSONPath, _ op: SummaryCondition.Op, _ values: [SQLParameter]) {
        guard underOr == 0 else { return }
        var list: [SummaryValue] = []
        for v in values {
            switch v {
            case .integer(let i): list.append(.integer(i))
            case .real(let d): list.append(.real(d))
            case .text(let t): list.append(SummaryValue(t))
            case .null: if op != .isNull { return }
            }
        }
        conditions.append(SummaryCondition(path: path.text, op: op, values: list))
    }

    private mutating func membership(_ value: JSONValue, negated: Bool, operand: String,
                                     path: JSONPath, at here: String) throws -> String {
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw Self.failure(here, "expected a non-empty array of scalars, got "
                + (value == .array([]) ? "an empty array" : value.kindName))
        }
        var placeholders: [String] = []
        var hasNull = false
        for (n, element) in elements.enumerated() {
            guard let p = Self.scalar(element) else {
                throw Self.failure(here + "[\(n)]", "expected a string, number, boolean or null, got "
                    + element.kindName)
            }
            if p == .null { hasNull = true } else { placeholders.append(try bind(p, at: here)) }
        }
        if !negated && !hasNull { require(path, .eq, elements.compactMap(Self.scalar)) }
        let list = placeholders.joined(separator: ", ")
        switch (negated, hasNull, placeholders.isEmpty) {
        case (false, _, true): return "(\(operand) IS NULL)"
        case (false, false, false): return "(\(operand) IN (\(list)))"
        case (false, true, false): return "(\(operand) IN (\(list)) OR \(operand) IS NULL)"
        case (true, _, true): return "(\(operand) IS NOT NULL)"
        case (true, false, false): return "(\(operand) NOT IN (\(list)) OR \(operand) IS NULL)"
        case (true, true, false): return "(\(operand) NOT IN (\(list)) AND \(operand) IS NOT NULL)"
        }
    }

    // MARK: Parameters

    /// A JSON scalar as a parameter (booleans as 1/0); nil for arrays and objects.
    private static func scalar(_ value: JSONValue) -> SQLParameter? {
        switch value {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .integer(let n): return .integer(n)
        case .double(let d): return .real(d)
        case .string(let s): return .text(s)
        case .array, .object: return nil
        }
    }

    private mutating func bind(_ parameter: SQLParameter, at here: String) throws -> String {
        guard parameters.count < QueryDocument.maxParameters else {
            throw Self.failure(here, "more than \(QueryDocument.maxParameters) parameters")
        }
        parameters.append(parameter)
        return SQLText.parameter(firstParameter + parameters.count - 1)
    }
}
