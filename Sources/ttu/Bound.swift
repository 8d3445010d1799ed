import ArgumentParser
import Foundation
import TTUCore
import TTUFiles
import TTUReport

struct Bound: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a calibration to predictions: the lower predictive bound per prompt.",
        discussion: """
        Writes id,p_hat,lpb with lpb = min(Q(τ̂; p_hat), M): at least lpb generations are
        needed before the first unsafe one, with the probability stated in calibration.json.
        lpb is a whole number ≥ 1 (1 when no level was admissible), `inf` when p_hat = 0 and
        nothing caps the bound.
        """)

    @Option(help: "calibration.json written by `ttu calibrate`.") var calibration: String
    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "Output lpb.csv.") var out: String

    func run() throws {
        try runStage {
            let cal = try readJSON(CalibrationFile.self, from: calibration)
            let preds = try Predictions.read(predictions)
            let lb = cal.lowerBound
            var w = CSVWriter(columns: ["id", "p_hat", "lpb"])
            var values: [Double] = []
            values.reserveCapacity(preds.ids.count)
            for i in preds.ids.indices {
                let l = lb.bound(pHat: preds.pHat[i])
                values.append(l)
                w.row([preds.ids[i], Num.format(preds.pHat[i]), Num.format(l)])
            }
            try w.write(to: out)
            print("\(values.count) bounds: mean \(Num.fixed(Evaluation.mean(values), 1)), median \(Num.format(Evaluation.median(values)))"
                + (cal.tauHat == nil ? " (trivial: no level was admissible)" : ""))
            print("wrote \(out)")
        }
    }
}
