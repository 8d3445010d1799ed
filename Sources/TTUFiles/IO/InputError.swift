/// A problem with something the user gave us, pinned to where it is:
/// `predictions.csv:17: field 'p_hat': 1.3 is outside [0, 1]`.
///
/// Every reader throws this instead of guessing, so bad input never silently
/// becomes a number.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let field { s += "field '\(field)': " }
        return s + message
    }
}

extension InputError {
    /// A place in a file (file, line, field) that errors are raised at.
    struct Field {
        var file: String
        var line: Int
        var field: String
        func error(_ message: String) -> InputError { InputError(file: file, line: line, field: field, message) }
        func renamed(_ f: String) -> Field { Field(file: file, line: line, field: f) }
    }
}
