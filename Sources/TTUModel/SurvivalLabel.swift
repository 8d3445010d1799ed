/// Survival data for one training prompt, in either of the two forms of docs/method.md §2,
/// reduced to a weighted binary cross-entropy row `(target, weight)`.
///
/// Both log-likelihoods are `weight · [y·log p + (1 − y)·log(1 − p)]`:
/// - counts: `k·log p + (n − k)·log(1 − p)` with `y = k/n`, `w = n`;
/// - first-unsafe time: `e·log p + (t̃ − e)·log(1 − p)` with `y = e/t̃`, `w = t̃`.
///
/// So fitting the weighted BCE is maximum likelihood for either form, and the forms can
/// be mixed in one training set.
public enum SurvivalLabel: Equatable, Sendable {
    /// `k` unsafe generations out of `n`.
    case counts(n: Int, k: Int)
    /// `observed` generations drawn (t̃); `event` is true if the last of them was unsafe
    /// (the first unsafe one), false if sampling stopped at the cap (censored).
    case firstUnsafe(observed: Int, event: Bool)

    /// The BCE target y ∈ [0, 1] (0 when the weight is 0).
    public var target: Double {
        switch self {
        case let .counts(n, k): return n > 0 ? Double(k) / Double(n) : 0
        case let .firstUnsafe(t, e): return t > 0 && e ? 1 / Double(t) : 0
        }
    }

    /// The BCE weight w ≥ 0: the number of generations the label summarises.
    public var weight: Double {
        switch self {
        case let .counts(n, _): return Double(max(n, 0))
        case let .firstUnsafe(t, _): return Double(max(t, 0))
        }
    }

    /// Throws `TTUModelError.invalidLabel` if the label is impossible.
    public func validate() throws {
        switch self {
        case let .counts(n, k):
            guard n >= 0 else { throw TTUModelError.invalidLabel("counts: n = \(n) is negative") }
            guard k >= 0 else { throw TTUModelError.invalidLabel("counts: k = \(k) is negative") }
            guard k <= n else { throw TTUModelError.invalidLabel("counts: k = \(k) exceeds n = \(n)") }
        case let .firstUnsafe(t, e):
            guard t >= 0 else { throw TTUModelError.invalidLabel("first-unsafe: observed = \(t) is negative") }
            if e && t < 1 {
                throw TTUModelError.invalidLabel("first-unsafe: an event needs observed ≥ 1 (got \(t))")
            }
        }
    }

    /// `(target, weight)` after validation.
    public func targetAndWeight() throws -> (target: Double, weight: Double) {
        try validate()
        return (target, weight)
    }

    /// Validates every label and returns parallel target and weight arrays; the error
    /// names the first bad row.
    public static func targetsAndWeights(_ labels: [SurvivalLabel]) throws -> (targets: [Double], weights: [Double]) {
        var ys = [Double](), ws = [Double]()
        ys.reserveCapacity(labels.count); ws.reserveCapacity(labels.count)
        for (i, l) in labels.enumerated() {
            do { try l.validate() } catch let TTUModelError.invalidLabel(msg) {
                throw TTUModelError.invalidLabel("row \(i): \(msg)")
            }
            ys.append(l.target); ws.append(l.weight)
        }
        return (ys, ws)
    }
}
