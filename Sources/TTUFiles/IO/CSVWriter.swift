import Foundation

/// Builds a CSV file in memory and writes it atomically, so a failed stage never
/// leaves a half-written output behind.
public struct CSVWriter {
    public private(set) var text: String

    public init(columns: [String]) {
        text = columns.map(CSVWriter.escape).joined(separator: ",") + "\n"
        text.reserveCapacity(1 << 16)
    }

    /// Appends one row; fields are escaped when needed.
    public mutating func row(_ fields: [String]) {
        var first = true
        for f in fields {
            if !first { text += "," }
            text += CSVWriter.escape(f)
            first = false
        }
        text += "\n"
    }

    public func write(to path: String) throws {
        try writeAtomically(text, to: path)
    }

    /// One row as a line of CSV text (with its line break).
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    /// Quotes a field with a comma, quote or line break, and one with spaces or tabs at
    /// either end (the reader trims those from unquoted fields). Bytes, not Characters:
    /// "\r\n" is one Character, equal to neither "\r" nor "\n".
    static func escape(_ s: String) -> String {
        let u = s.utf8
        if u.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D })
            || u.first.map({ $0 == 0x20 || $0 == 0x09 }) == true || u.last.map({ $0 == 0x20 || $0 == 0x09 }) == true {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }
}

/// Number formatting shared by every file `ttu` writes: shortest round-trip decimal,
/// whole numbers without a fraction, `inf` for infinity, empty for "not applicable".
public enum Num {
    public static func format(_ x: Double) -> String {
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
    public static func format(_ x: Double?) -> String { x.map { format($0) } ?? "" }
    /// Significant digits for people, never rounding a value up onto a round threshold
    /// (0.09998 prints as 0.09998, not 0.1000).
    public static func sig(_ x: Double, _ digits: Int = 4) -> String {
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x.isNaN { return "nan" }
        return String(format: "%.\(digits)g", x)
    }
    /// Fixed decimals for tables meant for people.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x.isNaN { return "nan" }
        return String(format: "%.\(digits)f", x)
    }
}

/// Writes `text` to `path` through a temporary file and a rename.
public func writeAtomically(_ text: String, to path: String) throws {
    try writeAtomically(Data(text.utf8), to: path)
}

public func writeAtomically(_ data: Data, to path: String) throws {
    try OutputPath.prepare(path)
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw InputError(file: path, "cannot write: \(OutputPath.reason(error))")
    }
}

/// An output file's path made ready: its folder created (as `--out` always has), and a
/// path that is a folder, or under a file, refused in words rather than a system code.
public enum OutputPath {
    /// `what` names the file in the refusal of a folder (`is a folder, not the sample log`),
    /// `example` the file name it suggests.
    public static func prepare(_ path: String, what: String? = nil, example: String = "out") throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw InputError(file: path, "is a folder\(what.map { ", not \($0)" } ?? ""): give a file name (e.g. \(URL(fileURLWithPath: path).appendingPathComponent(example).path))")
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) {
            if !isDir.boolValue { throw InputError(file: path, "cannot write: \(dir.path) is a file, not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw InputError(file: path, "cannot create its folder \(dir.path): \(reason(error))")
        }
    }

    /// Why a file operation failed, in words: the POSIX reason beneath Foundation's error
    /// (whose own text on Linux is only "NSCocoaErrorDomain error 512").
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain, let s = strerror(Int32(u.code)) {
            return String(cString: s).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain, let s = strerror(Int32(ns.code)) { return String(cString: s).lowercased() }
        switch ns.code {
        case NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        default: return "check that the folder exists and is writable, and that the disk has space"
        }
    }
}
