import ArgumentParser
import Foundation
import TTUPipeline

/// `ttu bench …` runs the sibling `ttu-bench` executable with the same arguments: the
/// benchmarks need the loopback stub servers, which the shipped `ttu` does not contain.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: print wall times and ratios (no pass/fail); runs ttu-bench.",
        discussion: """
        Runs the `ttu-bench` executable beside this one with the same arguments
        (`ttu-bench --help` lists them). Build it with
        `swift build -c release --product ttu-bench`.
        """,
        // `ttu bench --help` is ttu-bench's own help (its options), not this forwarder's.
        helpNames: [])

    @Argument(parsing: .allUnrecognized, help: "Arguments for ttu-bench.") var arguments: [String] = []

    func run() throws {
        let exe = try Self.siblingExecutable("ttu-bench")
        var argv: [UnsafeMutablePointer<CChar>?] = ([exe] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(exe, argv)
        throw InputError(file: exe, "cannot run: \(String(cString: strerror(errno)))")
    }

    /// `name` in the folder of the running `ttu` (where SwiftPM and an install put both).
    static func siblingExecutable(_ name: String) throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw InputError(file: path, "the benchmarks are a separate executable, not built here: run `swift build -c release --product \(name)` (or `swift run -c release \(name)`)")
        }
        return path
    }
}
