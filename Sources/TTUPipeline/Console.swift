import Foundation

/// Where a stage's lines for people go. `ttu` sends them to stderr, one unbuffered write
/// per line, so stage and progress lines stay in order in a redirected log and survive a
/// kill; stdout is left for what a script would parse. A library caller may collect them
/// or drop them (`.silent`).
public struct Console: Sendable {
    /// A line for people (no trailing newline).
    public var say: @Sendable (String) -> Void
    /// Collection progress lines; nil: no progress (quiet).
    public var progress: (@Sendable (String) -> Void)?

    public init(say: @escaping @Sendable (String) -> Void, progress: (@Sendable (String) -> Void)?) {
        self.say = say
        self.progress = progress
    }

    /// Lines to stderr; progress too unless `quiet`. On a terminal the progress line is
    /// redrawn in place (cut to the terminal's width); in a log file or pipe every
    /// progress report is a line of its own.
    public static func standardError(quiet: Bool = false) -> Console {
        guard isatty(2) == 1, ProcessInfo.processInfo.environment["TERM"] != "dumb" else {
            let line: @Sendable (String) -> Void = { Terminal.err($0) }
            return Console(say: line, progress: quiet ? nil : line)
        }
        let screen = InPlaceLine(columns: Terminal.columns(fd: 2))
        let say: @Sendable (String) -> Void = { screen.say($0) }
        let redraw: @Sendable (String) -> Void = { screen.redraw($0) }
        return Console(say: say, progress: quiet ? nil : redraw)
    }

    public static let silent = Console(say: { _ in }, progress: nil)

    public var quiet: Console { Console(say: say, progress: nil) }
}

/// Writes to the standard streams with write(2). A closed pipe (`ttu … | head`) makes a
/// write fail with EPIPE (SIGPIPE is ignored, see `Terminal.ignoreBrokenPipe`): the
/// stream is then dropped and the work goes on, so what was drawn is still committed and
/// the process ends normally; it never traps.
public enum Terminal {
    private static let closed = ClosedStreams()

    /// Ignore SIGPIPE so a closed reader turns into EPIPE, not a signal mid-commit.
    public static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    public static func err(_ line: String) { write(line + "\n", fd: 2) }
    public static func out(_ line: String) { write(line + "\n", fd: 1) }
    /// Text as is (no newline added).
    public static func outRaw(_ text: String) { write(text, fd: 1) }

    static func write(_ text: String, fd: Int32) {
        guard !closed.isClosed(fd) else { return }
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EINTR { continue }
            closed.close(fd)   // EPIPE or another error: this stream is gone
            return
        }
        bytes.removeAll()
    }
}

/// The progress line of a terminal: redrawn in place; a line for people first ends it, so
/// the last progress stays on screen above what follows.
final class InPlaceLine: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    let columns: Int
    /// Where the bytes go (stderr; a test's buffer).
    let write: @Sendable (String) -> Void
    init(columns: Int, write: @escaping @Sendable (String) -> Void = { Terminal.write($0, fd: 2) }) {
        self.columns = columns
        self.write = write
    }

    func redraw(_ line: String) {
        lock.withLock {
            let cut = line.count >= columns ? String(line.prefix(max(columns - 2, 10))) + "…" : line
            write("\r\u{1B}[K" + cut)
            pending = true
        }
    }

    func say(_ line: String) {
        lock.withLock {
            write((pending ? "\n" : "") + line + "\n")
            pending = false
        }
    }
}

extension Terminal {
    /// The width of the terminal on `fd` (80 when it cannot be told).
    static func columns(fd: Int32) -> Int {
        var w = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0 { return Int(w.ws_col) }
        return 80
    }
}

private final class ClosedStreams: @unchecked Sendable {
    private let lock = NSLock()
    private var fds = Set<Int32>()
    func isClosed(_ fd: Int32) -> Bool { lock.lock(); defer { lock.unlock() }; return fds.contains(fd) }
    func close(_ fd: Int32) { lock.lock(); fds.insert(fd); lock.unlock() }
}
