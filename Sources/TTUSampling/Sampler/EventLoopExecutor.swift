import NIOCore
import NIOPosix

/// Runs a task's jobs on one NIO event loop (a `TaskExecutor` preference).
///
/// The collector's workers run on the event loops of `MultiThreadedEventLoopGroup.singleton`
/// (one per core), spread evenly, and `KeepAliveClient` gives a worker a connection of its
/// own loop: sending a request, reading the answer, parsing, rating and asking the
/// scheduler for the next job then happen on one thread, with no hop to Swift's global
/// pool and back per request (those hops and their wake-ups were a fifth of `collect`'s
/// CPU against a fast server). Nothing a worker does blocks for long: the SQLite log
/// is written on its own thread (`LogWriter`), and `append` waits only while that
/// writer is thousands of rows behind.
@available(macOS 15.0, *)
public final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    public let loop: any EventLoop
    public init(_ loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// One executor per event loop of the shared group (as many as cores).
    public static let shared: [EventLoopExecutor] = MultiThreadedEventLoopGroup.singleton.makeIterator().map { EventLoopExecutor($0) }
}
