import ArgumentParser
import TTUPipeline

struct Bound: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a calibration to predictions: the lower bound L per prompt.",
        usage: "ttu bound --calibration calibration.json --predictions pred.csv\n          --out lpb.csv",
        discussion: """
        Writes id,p_hat,lpb with lpb = L = min(Q(τ̂; p_hat), M): the first
        unsafe generation is generation L or later (T ≥ L: at least L − 1 safe
        ones come first), with the probability stated in calibration.json. L is a whole number ≥ 1 (1 when
        no level was admissible), `inf` when p_hat = 0 and nothing caps it.
        """)

    @Option(help: "calibration.json written by `ttu calibrate`.") var calibration: String
    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "Output lpb.csv.") var out: String

    func run() throws { try BoundStage.run(.init(calibration: calibration, predictions: predictions, out: out), console: .cli()) }
}
