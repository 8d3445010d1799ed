import Foundation

/// An external classifier as a long-lived process speaking JSONL: for each text we write
/// one line `{"text": "…"}` to its stdin and read one line `{"score": x}` from its stdout.
/// Requests are serialised (one line out, one line in). If the process dies it is
/// restarted on the next request and the request fails (and is retried); a line that is
/// not `{"score": number}` is an error, never a score.
public final class CommandRater: Rater, @unchecked Sendable {
    public let command: String
    public var name: String { "command" }
    private let lock = NSLock()
    private let queue = DispatchQueue(label: "ttu.command-rater")
    private var process: Process?
    private var stdinHandle: FileHandle?
    private var stdoutHandle: FileHandle?
    private var readBuffer = [UInt8]()
    /// Seconds to wait for one answer before the process is considered hung.
    public let timeout: Double

    /// `command` runs through `/bin/sh -c`.
    public init(command: String, timeout: Double = 60) {
        self.command = command
        self.timeout = timeout
    }

    deinit { terminate() }

    public func finish() { terminate() }

    public func terminate() {
        lock.lock(); defer { lock.unlock() }
        stopLocked()
    }

    private func stopLocked() {
        if let p = process, p.isRunning { p.terminate() }
        try? stdinHandle?.close()
        try? stdoutHandle?.close()
        process = nil; stdinHandle = nil; stdoutHandle = nil
        readBuffer.removeAll()
    }

    private func startLocked() throws {
        signal(SIGPIPE, SIG_IGN)  // a dead rater must give EPIPE, not kill us
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = FileHandle.standardError
        do { try p.run() } catch {
            throw FatalSamplingError("rater command '\(command)' cannot start: \(error)")
        }
        process = p
        stdinHandle = inPipe.fileHandleForWriting
        stdoutHandle = outPipe.fileHandleForReading
        readBuffer.removeAll()
    }

    /// Reads one line (without the newline) from the process, nil at EOF.
    private func readLineLocked() -> String? {
        guard let fd = stdoutHandle?.fileDescriptor else { return nil }
        while true {
            if let nl = readBuffer.firstIndex(of: 0x0A) {
                let line = String(decoding: readBuffer[..<nl], as: UTF8.self)
                readBuffer.removeSubrange(...nl)
                return line
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(timeout * 1000))
            if r == 0 { return nil }  // timeout: treated like a dead process
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            readBuffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func scoreOneLocked(_ text: String) throws -> Double {
        if process == nil || !(process!.isRunning) {
            stopLocked()
            try startLocked()
        }
        let line = "{\"text\":" + JSONAccess.quote(text) + "}\n"
        do {
            try stdinHandle!.write(contentsOf: Data(line.utf8))
        } catch {
            stopLocked()
            throw TransientError("rater command: cannot write to the process (it will be restarted): \(error)")
        }
        guard let answer = readLineLocked() else {
            stopLocked()
            throw TransientError("rater command: no answer (process exited or timed out; it will be restarted)")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
              let value = obj["score"], type(of: value) != Bool.self,
              let num = value as? NSNumber, num.doubleValue.isFinite
        else {
            // The line may be out of step with our requests now: restart to resynchronise.
            stopLocked()
            throw TransientError("rater command: bad line '\(answer.prefix(80))': expected {\"score\": number}")
        }
        return num.doubleValue
    }

    public func score(_ items: [RatingItem]) async throws -> [Double] {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<[Double], Error>) in
            queue.async {
                self.lock.lock(); defer { self.lock.unlock() }
                do {
                    cont.resume(returning: try items.map { try self.scoreOneLocked($0.completion) })
                } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }
}
