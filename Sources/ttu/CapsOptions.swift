import ArgumentParser
import TTUPipeline

/// Which prompts are sampled and to what cap, as `ttu collect` and `ttu merge` both take it.
struct CapsOptions: ParsableArguments {
    @Option(help: "Calibration plan (plan.csv, plan.json beside it): the cap c of every prompt.") var plan: String?
    @Option(name: .customLong("per-prompt"), help: "Cap N generations per prompt (test times, or counts with --no-early-stop).")
    var perPrompt: Int?
    @Flag(name: .customLong("no-early-stop"), help: "With --per-prompt: draw all N and write id,n,k counts.") var noEarlyStop = false
    @Option(name: .customLong("cap-from"), help: "Bounds file (id,p_hat,lpb, from ttu bound): cap each prompt at its bound L (test truth at least cost).")
    var capFrom: String?
    @Flag(help: "Allow prompts that are not in the plan or bounds file (they are ignored).") var subset = false

    func validate() throws {
        if [plan != nil, perPrompt != nil, capFrom != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --plan, --per-prompt or --cap-from")
        }
        if noEarlyStop && perPrompt == nil { throw ValidationError("--no-early-stop needs --per-prompt") }
    }

    /// The caps: from a plan, a bounds file, or one number for every prompt.
    var mode: CollectStage.Mode {
        if let plan { return .plan(plan, subset: subset) }
        if let capFrom { return .bounds(capFrom, subset: subset) }
        return .perPrompt(perPrompt ?? 0, earlyStop: !noEarlyStop)
    }
}
