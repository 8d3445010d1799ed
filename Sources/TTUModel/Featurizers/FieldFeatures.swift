import Foundation

/// Numeric fields of the prompt records as features (e.g. a toxicity score of the
/// prompt itself, as RealToxicityPrompts ships, or any metadata a user has), each
/// standardised with the training prompts' mean and standard deviation. The names and
/// the standardisation are stored in the model file, so `predict` rebuilds the same
/// columns; a field missing from a prompt is an input error, never a zero.
public struct FieldFeatures: Equatable, Sendable {
    public var names: [String]
    public var mean: [Double]
    /// Standard deviation (1 where a field is constant in training).
    public var scale: [Double]

    public init(names: [String], mean: [Double], scale: [Double]) {
        self.names = names; self.mean = mean; self.scale = scale
    }

    /// Standardisation fitted on the training rows (`rows[i][j]` = field j of prompt i).
    public static func fit(names: [String], rows: [[Double]]) throws -> FieldFeatures {
        guard !names.isEmpty else { throw TTUModelError.invalidConfiguration("fields: no field names") }
        guard !rows.isEmpty else { throw TTUModelError.invalidConfiguration("fields: no training rows") }
        var mean = [Double](repeating: 0, count: names.count), scale = mean
        let n = Double(rows.count)
        for j in names.indices {
            let m = rows.reduce(0) { $0 + $1[j] } / n
            let v = rows.reduce(0) { $0 + ($1[j] - m) * ($1[j] - m) } / n
            mean[j] = m
            scale[j] = v > 0 ? v.squareRoot() : 1
        }
        return FieldFeatures(names: names, mean: mean, scale: scale)
    }

    public init(settings s: [String: String]) throws {
        let names = (s["names"] ?? "").split(separator: ",").map(String.init)
        let mean = (s["mean"] ?? "").split(separator: ",").compactMap { Double($0) }
        let scale = (s["scale"] ?? "").split(separator: ",").compactMap { Double($0) }
        guard !names.isEmpty, mean.count == names.count, scale.count == names.count,
              mean.allSatisfy(\.isFinite), scale.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw TTUModelError.invalidConfiguration("featurizer: fields need 'names', 'mean' and 'scale' of equal length (finite, scale > 0)")
        }
        self.init(names: names, mean: mean, scale: scale)
    }

    public var settings: [String: String] {
        // %.17g round-trips a Double exactly.
        let f = { (xs: [Double]) in xs.map { String(format: "%.17g", $0) }.joined(separator: ",") }
        return ["kind": "fields", "names": names.joined(separator: ","), "mean": f(mean), "scale": f(scale)]
    }

    public func features(_ rows: [[Double]]) throws -> FeatureMatrix {
        var v: [Double] = []
        v.reserveCapacity(rows.count * names.count)
        for r in rows {
            precondition(r.count == names.count)
            for j in names.indices { v.append((r[j] - mean[j]) / scale[j]) }
        }
        return try FeatureMatrix(rows: rows.count, cols: names.count, values: v)
    }
}
