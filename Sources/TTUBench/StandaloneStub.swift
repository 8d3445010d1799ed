import Foundation
import TTUTestSupport

/// The instant stub of the collect benchmark (`StubServer` with `canned` answers) as its
/// own process, so an outside load generator (`wrk`, a Python sampler) and `ttu collect`
/// can be compared against the very same server: `ttu bench --serve-stub PORT`.
/// Listens on 127.0.0.1 only; runs until the process is killed.
public enum StandaloneStub {
    /// Starts the stub and returns it; `port` 0 picks a free one (see `StubServer.port`).
    public static func start(port: Int, threads: Int) throws -> StubServer {
        var config = StubServer.Config()
        config.canned = true
        config.port = port
        config.eventLoopThreads = max(1, threads)
        config.recordRequests = false
        config.models = ["stub"]
        let stub = StubServer(config: config)
        try stub.start()
        return stub
    }
}
