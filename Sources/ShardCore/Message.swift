/// Shows user text inside an error message: quoted, NUL made visible (C strings stop
/// at it), and cut short when huge so the message stays readable.
enum Message {
    static func quote(_ text: String, limit: Int = 120) -> String {
        var scalars = String.UnicodeScalarView()
        var kept = 0
        for s in text.unicodeScalars {
            if kept == limit { scalars.append(contentsOf: "...".unicodeScalars); break }
            if s == "\0" { scalars.append(contentsOf: "\\0".unicodeScalars) } else { scalars.append(s) }
            kept += 1
        }
        return "'" + String(scalars) + "'"
    }
}
