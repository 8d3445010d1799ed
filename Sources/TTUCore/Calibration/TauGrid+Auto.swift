import Foundation

extension TauGrid {
    /// The grid chosen from p̂, the bound cap M and the budget B (`--tau-grid auto`):
    /// 300 levels from 10^-3 up to a top level τ_m that is
    /// - at least the paper's 10^−0.75,
    /// - at most the level at which the largest candidate bound Q(τ_m; p̂) reaches M for
    ///   `share` of the prompts (beyond it the grid no longer limits the bounds, M does),
    /// - and within that, the largest level at which sampling every prompt up to its
    ///   largest candidate fits the budget: mean over prompts of min(Q(τ_m; p̂), M) ≤ B.
    ///
    /// Why the budget: a prompt's sampling cost is its largest candidate, so a higher top
    /// makes the allocation sample fewer prompts with larger weights 1/π, and a noisier
    /// miscoverage estimate selects a smaller τ̂ (on `ttu demo`, a top of 0.977 where
    /// M = 20,000 cut the mean bound from 39 to 3). Within the budget every prompt can be
    /// sampled to its cap, so widening the grid costs no precision.
    /// Never above 10^−0.01; the paper's grid without a cap (naive, basic) or a positive p̂.
    /// It depends on the calibration prompts' p̂ only, never on observations, so the
    /// candidate levels are fixed before sampling, as the calibration assumes.
    public static func auto(pHat: [Double], boundCap: Double, budget: Double, share: Double = 0.9, count: Int = 300) -> TauGrid {
        let paper = TauGrid.default
        let m = boundCap
        guard m.isFinite, m > 1 else { return paper }
        let positive = pHat.filter { $0 > 0 && $0 < 1 }.sorted()
        guard !positive.isEmpty else { return paper }
        let ps = positive[min(positive.count - 1, Int((share * Double(positive.count)).rounded(.down)))]
        let reachLog10 = min(log10(-expm1(m * log1p(-ps))), -0.01)
        guard reachLog10 > paper.maxLog10 else { return TauGrid(minLog10: paper.minLog10, maxLog10: paper.maxLog10, count: count) }
        func meanCost(_ log10Tau: Double) -> Double {
            // τ_m exactly as the grid computes it, so the grid's own top keeps the promise.
            let l = log1p(-TauGrid(minLog10: paper.minLog10, maxLog10: log10Tau, count: count).taus.last!)
            return pHat.reduce(0) { $0 + min(Geometric.quantile(logOneMinusTau: l, p: $1), m) } / Double(pHat.count)
        }
        var top = paper.maxLog10
        if meanCost(reachLog10) <= budget {
            top = reachLog10
        } else if meanCost(paper.maxLog10) < budget {
            var lo = paper.maxLog10, hi = reachLog10   // meanCost(lo) ≤ B < meanCost(hi); it grows with τ
            for _ in 0..<60 {
                let mid = (lo + hi) / 2
                if meanCost(mid) <= budget { lo = mid } else { hi = mid }
            }
            top = lo
        }
        return TauGrid(minLog10: paper.minLog10, maxLog10: top, count: count)
    }
}
