import Foundation
import TTUCore
import TTUFiles

/// Applies a calibration to predictions: the lower bound L(x) = min(Q(τ̂; p̂), M) per prompt.
public enum BoundStage {
    public struct Settings: Sendable {
        public var calibration: String
        public var predictions: String
        public var out: String
        public init(calibration: String, predictions: String, out: String) {
            self.calibration = calibration
            self.predictions = predictions
            self.out = out
        }
    }

    /// Writes `id,p_hat,lpb`; returns the bounds in prediction order.
    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> [Double] {
        let cal = try readJSON(CalibrationFile.self, from: s.calibration)
        let preds = try Predictions.read(s.predictions)
        let lb = cal.lowerBound
        var w = CSVWriter(columns: ["id", "p_hat", "lpb"])
        var values: [Double] = []
        values.reserveCapacity(preds.ids.count)
        for i in preds.ids.indices {
            let l = lb.bound(pHat: preds.pHat[i])
            values.append(l)
            w.row([preds.ids[i], Num.format(preds.pHat[i]), Num.format(l)])
        }
        try w.write(to: s.out)
        console.say("\(values.count) bounds: mean \(Num.fixed(Evaluation.mean(values), 1)), median \(Num.format(Evaluation.median(values)))"
            + (cal.tauHat == nil ? " (trivial: no level was admissible)" : ""))
        console.say("wrote \(s.out)")
        return values
    }
}

/// Scores bounds against sampled test truth: coverage with censoring, its exact interval,
/// mean bound, trivial bounds; exact coverage from known rates on simulated runs.
public enum EvaluateStage {
    public struct Settings: Sendable {
        public var lpb: String
        public var truth: String
        /// Simulated truth: `id,p` of the known unsafe probabilities.
        public var rates: String?
        /// Also write the numbers as JSON here.
        public var json: String?
        public init(lpb: String, truth: String) {
            self.lpb = lpb
            self.truth = truth
        }
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> TestEvaluation {
        let l = try LPBFile.read(s.lpb)
        let t = try ObservationsFile.read(s.truth)
        let r = try s.rates.map { try RatesFile.read($0) }
        let e = try TestEvaluation.compute(lpb: l, lpbPath: s.lpb, truth: t, truthPath: s.truth, trueRates: r)
        for line in e.lines { console.say(line) }
        if let json = s.json {
            try writeAtomically(try encodeJSON(e), to: json)
            console.say("wrote \(json)")
        }
        return e
    }
}
