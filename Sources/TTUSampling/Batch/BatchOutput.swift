import Foundation
import NIOCore
import TTUFiles

/// A batch output file (OpenAI's output and error files, `vllm run-batch`'s output), one
/// JSON object per line:
///
///     {"id":…,"custom_id":"3:p7","response":{"status_code":200,"body":{…completion…}},"error":null}
///
/// Read strictly: a line that is not a JSON object, has no string `custom_id`, names a
/// request that was not in the batch, or repeats one is bad input (`InputError` with the
/// file, line and field): the file is not what ttu asked for, and nothing of it is
/// guessed. A line that reports an error (`error` set, a status other than 200, a body
/// without the texts asked for) is a failed generation: it is never rated, never counted
/// as safe, and is requested again in the next round.
public enum BatchOutput {
    public enum Line: Sendable, Equatable {
        /// The texts of the request's block, in index order.
        case texts([String])
        case failed(String)
    }

    /// The lines of `data` (read from `file`), by custom_id; `expected` are the custom_ids
    /// of the batch. Requests with no line (an expired batch) are simply absent.
    public static func parse(_ data: Data, file: String, expected: Set<String>, chat: Bool, choices: Int) throws -> [String: Line] {
        var out: [String: Line] = [:]
        try JSONLines.forEachObject(data, file: file) { lineNo, _, obj in
            guard let id = obj["custom_id"] as? String else {
                throw InputError(file: file, line: lineNo, field: "custom_id", "missing (or not a string)")
            }
            guard expected.contains(id) else {
                throw InputError(file: file, line: lineNo, field: "custom_id", "'\(id)' was not requested in this batch")
            }
            guard out[id] == nil else {
                throw InputError(file: file, line: lineNo, field: "custom_id", "'\(id)' answered twice")
            }
            out[id] = line(obj, chat: chat, choices: choices)
        }
        return out
    }

    /// What one line says: the texts, or why the generation failed.
    static func line(_ obj: [String: Any], chat: Bool, choices: Int) -> Line {
        if let e = obj["error"], !(e is NSNull) {
            let message = ((e as? [String: Any])?["message"] as? String) ?? "\(e)"
            return .failed("error: \(message)")
        }
        guard let response = obj["response"] as? [String: Any] else { return .failed("no 'response'") }
        let status = (response["status_code"] as? Int) ?? 0
        let body = response["body"]
        guard status == 200 else {
            let message = ((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
            return .failed("HTTP \(status)" + (message.map { " \($0)" } ?? ""))
        }
        guard let body, let d = try? JSONSerialization.data(withJSONObject: body) else { return .failed("no response body") }
        do {
            return .texts(try OpenAIGenerator.parseChoices(ByteBuffer(bytes: d), chat: chat, expected: choices, url: "batch output"))
        } catch {
            return .failed("\(error)")
        }
    }
}
