import ArgumentParser
import Foundation
import TTUPipeline

@main
struct TTU: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttu",
        abstract: "Calibrated lower bounds on time-to-unsafe-sampling of a language model.",
        discussion: """
        For each prompt, ttu gives a lower predictive bound L: with probability at
        least 1 − α, the first unsafe generation is generation L or later (at
        least L − 1 safe ones come first).

        Start with `ttu demo` (the whole pipeline on built-in prompts, simulated
        generator) or `ttu simulate` (the paper's synthetic experiment).
        `ttu run --config ttu.yaml` chains the stages for your own model; each
        stage also runs alone: train → predict → plan → collect → calibrate →
        bound → evaluate → report; `ttu metrics` gives toxicity metrics at k
        from sample logs. The method: docs/method.md. Lines for people
        go to stderr; stdout carries only tables and what a script would parse.
        """,
        version: "0.2.0",
        subcommands: [Run.self, Demo.self, Simulate.self, Train.self, Predict.self, Plan.self, Collect.self, Merge.self, Observe.self,
                      Calibrate.self, Bound.self, Evaluate.self, Metrics.self, Report.self, Bench.self])

    /// Parses and runs like ArgumentParser's `main`, but every error is one line on
    /// stderr with the exit code README documents.
    static func main() async {
        Terminal.ignoreBrokenPipe()
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch {
            let (message, code) = describe(error)
            if let message { Terminal.err("error: " + message.replacingOccurrences(of: "\n", with: " ")) }
            Foundation.exit(code)
        }
    }

    /// The line and exit code for an error: 2 bad input, 64 bad flag, 1 fatal sampling
    /// error, 3 incomplete prompts, 4 an offline batch round pending, 130 interrupted.
    static func describe(_ error: Error) -> (String?, Int32) {
        switch error {
        case let e as InputError: return (e.description, 2)
        case let e as SettingError: return ("\(Flags.flag(for: e.key)): \(e.message) (see 'ttu\(subcommand) --help')", 64)
        case let e as FatalSamplingError: return (e.message, 1)
        case StageError.incomplete: return (nil, 3)
        case StageError.interrupted: return (nil, 130)
        case StageError.batchPending: return (nil, 4)
        case let e as ExitCode: return (nil, e.rawValue)
        default:
            let code = exitCode(for: error)
            if code == .success || code.rawValue == 0 { exit(withError: error) }  // --help, --version
            if code == .validationFailure {
                return ("\(TTU.message(for: error)) (see 'ttu\(subcommand) --help')", code.rawValue)
            }
            return ("\(error)", 2)
        }
    }

    static var subcommand: String { CommandLine.arguments.dropFirst().first.map { " \($0)" } ?? "" }
}

extension Console {
    /// Lines for people on stderr; collection progress too unless `quiet`.
    static func cli(quiet: Bool = false) -> Console { .standardError(quiet: quiet) }
}
