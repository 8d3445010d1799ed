import Foundation

/// JSONL read strictly, one JSON object per non-blank line (LF or CRLF): the line loop that
/// prompt files and batch output files share.
public enum JSONLines {
    /// Calls `body` with each non-blank line's 1-based number, its bytes (without the line
    /// break) and its object. A line that is not strict JSON (`StrictJSON`: no trailing
    /// comma, no repeated key) or not an object is an `InputError` naming file and line;
    /// `notAnObject` says what was expected instead.
    public static func forEachObject(_ data: Data, file: String, notAnObject: String = "not a JSON object",
                                     _ body: (_ line: Int, _ bytes: Data, _ object: [String: Any]) throws -> Void) throws {
        var lineNo = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNo += 1
            var line = raw
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let bytes = Data(line)
            do {
                try bytes.withUnsafeBytes { try StrictJSON.validate($0.bindMemory(to: UInt8.self)) }
            } catch {
                throw InputError(file: file, line: lineNo, "\(error)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: bytes, options: [])) as? [String: Any] else {
                throw InputError(file: file, line: lineNo, notAnObject)
            }
            try body(lineNo, bytes, object)
        }
    }
}
