import Foundation
import TTUFiles
import TTUSampling

/// `ttu export`: the generations of sample logs — prompt id, index, text, score, unsafe —
/// as JSONL or CSV, the unsafe ones first (or only those), streamed from SQLite so a log
/// of millions of generations never sits in memory.
public enum ExportStage {
    public enum Format: String, CaseIterable, Sendable { case jsonl, csv }

    public struct Settings: Sendable {
        /// The logs, each with the stage it belongs to in a run folder (nil for a lone log).
        public var logs: [(stage: String?, path: String)]
        /// The output file; nil: standard output.
        public var out: String?
        /// nil: from `out`'s name (`.csv` → CSV), else JSONL.
        public var format: Format?
        public var onlyUnsafe = false
        public init(logs: [(stage: String?, path: String)], out: String?) { (self.logs, self.out) = (logs, out) }

        var resolvedFormat: Format { format ?? (out?.lowercased().hasSuffix(".csv") == true ? .csv : .jsonl) }
    }

    /// The logs of a run folder, by stage (those that exist).
    public static func runLogs(_ runDir: String) throws -> [(stage: String?, path: String)] {
        let dir = URL(fileURLWithPath: runDir)
        let logs: [(stage: String?, path: String)] = [("training", "train_counts.sqlite"), ("calibration", "calibration_obs.sqlite"), ("test", "test_obs.sqlite")]
            .map { ($0.0, dir.appendingPathComponent($0.1).path) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        if logs.isEmpty {
            throw InputError(file: runDir, "no sample logs here (train_counts.sqlite, calibration_obs.sqlite, test_obs.sqlite): not a ttu run folder, or nothing was sampled yet")
        }
        return logs
    }

    /// Writes the export; returns (generations written, of which unsafe, without text).
    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> (written: Int, unsafe: Int, withoutText: Int) {
        for l in s.logs where !FileManager.default.fileExists(atPath: l.path) {
            throw InputError(file: l.path, "no such sample log")
        }
        let opened = try s.logs.map { (stage: $0.stage, log: try SampleLog(path: $0.path, mustExist: true)) }
        let format = s.resolvedFormat
        let sink = try TextSink(path: s.out)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func quote(_ t: String) throws -> String { String(decoding: try encoder.encode(t), as: UTF8.self) }
        let staged = s.logs.contains { $0.stage != nil }
        if format == .csv {
            sink.write(((staged ? ["stage"] : []) + ["prompt_id", "index", "score", "unsafe", "text"]).joined(separator: ",") + "\n")
        }
        var counts = (written: 0, unsafe: 0, withoutText: 0)
        for unsafe in s.onlyUnsafe ? [true] : [true, false] {
            for (stage, log) in opened {
                try log.forEachGeneration(unsafe: unsafe) { g in
                    counts.written += 1
                    if g.unsafe { counts.unsafe += 1 }
                    if g.text == nil { counts.withoutText += 1 }
                    switch format {
                    case .jsonl:
                        // Keys in reading order: where it is from, then the verdict, then the text.
                        sink.write("{" + (try stage.map { "\"stage\":\(try quote($0))," } ?? "") + "\"prompt_id\":\(try quote(g.promptID)),\"index\":\(g.index),"
                            + "\"unsafe\":\(g.unsafe),\"score\":\(Num.format(g.score)),\"text\":\(try g.text.map(quote) ?? "null")}\n")
                    case .csv:
                        let cells = (staged ? [stage ?? ""] : []) + [g.promptID, String(g.index), Num.format(g.score), g.unsafe ? "1" : "0", g.text ?? ""]
                        sink.write(CSVWriter.line(cells))
                    }
                }
            }
        }
        try sink.finish()
        if let out = s.out {
            console.say("export: \(counts.written) generations (\(counts.unsafe) unsafe\(s.onlyUnsafe ? ", only those" : ", first")) → \(out)")
        }
        if counts.withoutText > 0 {
            console.say("export: warning: \(counts.withoutText) generations have no text (logged with store_text off, or by a ttu that did not keep texts)")
        }
        return counts
    }
}

/// Text written in pieces to a file (atomically: a temporary file renamed at the end) or
/// to standard output.
final class TextSink {
    private let path: String?
    private let temp: String?
    private let handle: FileHandle
    private var buffer = ""

    init(path: String?) throws {
        self.path = path
        guard let path else { temp = nil; handle = FileHandle.standardOutput; return }
        try OutputPath.prepare(path)
        let t = path + ".partial"
        temp = t
        guard FileManager.default.createFile(atPath: t, contents: nil), let h = FileHandle(forWritingAtPath: t) else {
            throw InputError(file: path, "cannot write here")
        }
        handle = h
    }

    func write(_ s: String) {
        buffer += s
        if buffer.utf8.count >= 1 << 20 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer.utf8))
        buffer = ""
    }

    func finish() throws {
        flush()
        guard let path, let temp else { return }
        try handle.close()
        if rename(temp, path) != 0 { throw InputError(file: path, "cannot write: \(String(cString: strerror(errno)).lowercased())") }
    }
}
