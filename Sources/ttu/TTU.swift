import ArgumentParser
import Foundation
import TTUFiles
import TTUReport

@main
struct TTU: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttu",
        abstract: "Calibrated lower bounds on time-to-unsafe-sampling of a language model.",
        discussion: """
        For each prompt, ttu gives a lower predictive bound L: with probability at least 1 − α, at least L generations are needed before the first unsafe one.

        Start with `ttu demo` (the whole pipeline on built-in prompts, simulated generator) or `ttu simulate` (the paper's synthetic experiment). `ttu run --config ttu.yaml` chains the stages for your own model; each stage also runs alone: train → predict → plan → collect → calibrate → bound → evaluate → report. See README.md.
        """,
        version: "0.1.0",
        subcommands: TTU.allSubcommands
    )

    /// Parses and runs like ArgumentParser's default `main`, but a usage error is one
    /// line on stderr (`error: … (see 'ttu plan --help')`) instead of the full usage text.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }  // --help, --version
            let sub = CommandLine.arguments.dropFirst().first.map { " \($0)" } ?? ""
            let message = TTU.message(for: error).replacingOccurrences(of: "\n", with: " ")
            FileHandle.standardError.write(Data("error: \(message) (see 'ttu\(sub) --help')\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }

    /// Every subcommand, one file each (Sources/ttu/<Name>.swift).
    static let allSubcommands: [ParsableCommand.Type] = [
        Plan.self, Collect.self, Calibrate.self, Bound.self, Simulate.self, Bench.self,
        Train.self, Predict.self, Evaluate.self, Report.self, Run.self, Demo.self, Observe.self,
    ]
}

/// Runs a stage body, turning input problems into a one-line error and exit code 2
/// (no stack traces, nothing half-written).
func runStage(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        try reportStageError(error)
    }
}

/// `runStage` for async bodies.
func runStage(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        try reportStageError(error)
    }
}

private func reportStageError(_ error: Error) throws -> Never {
    do {
        throw error
    } catch let e as InputError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(2)
    } catch let e as ValidationError {
        throw e
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}
