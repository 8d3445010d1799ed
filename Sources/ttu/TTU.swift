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
        subcommands: [Run.self, Demo.self, Simulate.self, Train.self, Predict.self, Plan.self, Collect.self, Merge.self, Export.self, Observe.self,
                      Calibrate.self, Bound.self, Evaluate.self, Metrics.self, Report.self, Bench.self])

    /// Parses and runs like ArgumentParser's `main`, but every error is one line on
    /// stderr with the exit code README documents.
    static func main() async {
        Terminal.ignoreBrokenPipe()
        do {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if let first = arguments.first, !first.hasPrefix("-"), !subcommandNames.contains(first) {
                throw UnknownCommand(name: first)
            }
            var command = try parseAsRoot(Arguments.joiningNegativeNumbers(arguments))
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
        case let e as UnknownCommand: return (e.description, 64)
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

    static var subcommandNames: [String] { configuration.subcommands.map { $0._commandName } + ["help"] }
}

/// `ttu nosuch`: the commands there are, and the nearest one.
struct UnknownCommand: Error, CustomStringConvertible {
    let name: String
    var description: String {
        let names = TTU.subcommandNames.filter { $0 != "help" }
        let nearest = names.min { Arguments.distance($0, name) < Arguments.distance($1, name) }
        let hint = nearest.map { Arguments.distance($0, name) <= max(2, name.count / 3) ? "did you mean '\($0)'? " : "" } ?? ""
        return "'\(name)' is not a ttu command; \(hint)the commands are \(names.joined(separator: ", ")) (see 'ttu --help')"
    }
}

enum Arguments {
    /// `--opt -3` → `--opt=-3`: ArgumentParser takes a value that starts with `-` for a flag,
    /// so `--tau-grid -3,-0.75,300` (the form the help prints) or `--seed -5` would fail with
    /// "Missing value". A negative number is never a flag's name.
    static func joiningNegativeNumbers(_ args: [String]) -> [String] {
        var out: [String] = []
        var k = 0
        while k < args.count {
            let a = args[k]
            if a.hasPrefix("--"), !a.contains("="), k + 1 < args.count, isNegativeNumber(args[k + 1]) {
                out.append(a + "=" + args[k + 1])
                k += 2
            } else {
                out.append(a)
                k += 1
            }
        }
        return out
    }

    /// `-3`, `-0.75`, `-1e-4`, `-3,-0.75,300`: a minus sign and a digit or a point.
    static func isNegativeNumber(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return u.count >= 2 && u[0] == UInt8(ascii: "-") && (u[1] >= 0x30 && u[1] <= 0x39 || u[1] == UInt8(ascii: "."))
    }

    /// Edit distance, for suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

extension Console {
    /// Lines for people on stderr; collection progress too unless `quiet`.
    static func cli(quiet: Bool = false) -> Console { .standardError(quiet: quiet) }
}
