import ArgumentParser
import TTUPipeline

private typealias B = BatchSettings

/// `ttu collect`'s backend flags: the declared settings of `BatchSettings`, as
/// `generator.backend` and `generator.batch_*` in a run config.
struct BackendOptions: ParsableArguments {
    @Option(B.option(\.backend)) var backend: BatchSettings.Backend
    @Option(B.option(\.chunk)) var batchChunk: Int
    @Option(B.option(\.pollInterval)) var batchPollInterval: Double
    @Option(B.option(\.offline), valueName: "DIR") var batchOffline: String?

    var settings: BatchSettings {
        var b = BatchSettings()
        (b.backend, b.chunk, b.pollInterval, b.offline) = (backend, batchChunk, batchPollInterval, batchOffline)
        return b
    }
}
extension BatchSettings.Backend: ExpressibleByArgument {}
