/// Errors raised while validating training data, labels or configurations.
///
/// Every data error names the offending row (0-based, in the caller's order) so that a
/// bad line in an input file can be found.
public enum TTUModelError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Feature matrix `values.count` does not equal `rows × cols`, or a vector has the wrong length.
    case shapeMismatch(String)
    /// A feature is NaN or infinite.
    case nonFiniteFeature(row: Int, column: Int, value: Double)
    /// A target is NaN or outside [0, 1].
    case targetOutOfRange(row: Int, value: Double)
    /// A weight is NaN, infinite or negative.
    case invalidWeight(row: Int, value: Double)
    /// A survival label is inconsistent (e.g. k > n).
    case invalidLabel(String)
    /// A training configuration value is out of range.
    case invalidConfiguration(String)
    /// After the split, the training (or validation) rows carry no weight at all.
    case noWeight(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let s): return "shape mismatch: \(s)"
        case let .nonFiniteFeature(row, column, value):
            return "row \(row): feature \(column) is not finite (\(value))"
        case let .targetOutOfRange(row, value):
            return "row \(row): target \(value) is not in [0, 1]"
        case let .invalidWeight(row, value):
            return "row \(row): weight \(value) must be finite and ≥ 0"
        case .invalidLabel(let s): return "invalid survival label: \(s)"
        case .invalidConfiguration(let s): return "invalid training configuration: \(s)"
        case .noWeight(let s): return "no usable data: \(s)"
        }
    }
}

/// Errors raised when reading or writing a model file.
public enum ModelFileError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The `format` field is not `"ttu-model"` (or is missing).
    case wrongFormat(found: String?)
    /// The `version` field is not one this build can read.
    case unsupportedVersion(found: Int, supported: Int)
    /// The file is a ttu model but its content is inconsistent or unreadable.
    case corrupt(String)

    public var description: String {
        switch self {
        case .wrongFormat(let f):
            return "not a ttu model file: format is \(f.map { "\"\($0)\"" } ?? "missing"), expected \"\(ModelFile.formatName)\""
        case let .unsupportedVersion(found, supported):
            return "unsupported ttu model file version \(found) (this build reads version \(supported))"
        case .corrupt(let s): return "corrupt ttu model file: \(s)"
        }
    }
}
