import TTUCore
import TTUFiles

extension CollectInputs {
    /// Test truth at the least cost (`ttu collect --cap-from lpb.csv`): each prompt's cap is
    /// its bound minus one, `c = L − 1`. Coverage of a bound L is decided by the first L − 1
    /// generations — T ≥ L exactly when they are all safe — so sampling each prompt to its
    /// first unsafe generation or L − 1 safe ones decides every prompt's coverage and draws
    /// nothing beyond that (L = 1 is covered without sampling: cap 0). Every bound id must
    /// be a prompt; prompts without a bound are refused unless `subset`. An infinite bound
    /// (p̂ = 0 with no bound cap) cannot be decided by sampling and is refused.
    public static func fromBounds(prompts: [PromptRecord], promptsPath: String, bounds: LPBFile,
                                  boundsPath: String, subset: Bool) throws -> (prompts: [PromptRecord], caps: [Int]) {
        var caps: [Int] = []
        caps.reserveCapacity(bounds.ids.count)
        for (row, l) in bounds.lpb.enumerated() {
            guard l.isFinite, l >= 1, l < 1e15 else {
                throw InputError(file: boundsPath, line: bounds.lines[row], field: "lpb",
                                 "the bound of '\(bounds.ids[row])' is \(l): only a finite bound ≥ 1 can be decided by sampling")
            }
            caps.append(Int(l) - 1)
        }
        return try fromPlan(prompts: prompts, promptsPath: promptsPath, planIDs: bounds.ids, caps: caps,
                            planPath: boundsPath, subset: subset)
    }
}
