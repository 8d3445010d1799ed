/// How a stage ended when it did not simply succeed; the CLI maps each to an exit code
/// (README: collect's exit codes). Bad input is `InputError` (exit 2), a setting
/// `SettingError` (exit 2 or 64), a dead server `FatalSamplingError` (exit 1).
public enum StageError: Error, CustomStringConvertible, Equatable {
    /// Some prompts are still incomplete after retries (exit 3); rerun to retry them.
    case incomplete(count: Int)
    /// Ctrl-C: everything rated so far is saved (exit 130).
    case interrupted
    /// Offline batch backend: round `round`'s request file waits for `vllm run-batch`
    /// (exit 4); run the printed command, then rerun to ingest it.
    case batchPending(round: Int)

    public var description: String {
        switch self {
        case .incomplete(let n): return "\(n) prompt(s) incomplete after retries; rerun the same command to retry them"
        case .interrupted: return "interrupted; rerun the same command to resume"
        case .batchPending(let k): return "batch round \(k) waits for its offline run; run the printed command, then rerun the same command"
        }
    }
}
