import XCTest
@testable import TTUModel

final class ModelFileTests: XCTestCase {
    private func tempURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("ttu-model-test-\(ProcessInfo.processInfo.processIdentifier)-\(name).json")
    }

    func testMLPRoundTrip() throws {
        let data = logisticCountData(rows: 200, n: 10, a: 1, b: -2, seed: 61)
        let cfg = TrainingConfig(learningRate: 0.01, epochs: 2, seed: 0xFFFF_FFFF_FFFF_FFF1, hiddenLayers: [4, 3],
                                 validationFraction: 0.1)
        let (m, r) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        let file = ModelFile(model: m, training: cfg, report: r, featurizer: ["kind": "quantile-features", "power": "0.25"])
        let url = tempURL("mlp"); defer { try? FileManager.default.removeItem(at: url) }
        try file.write(to: url)
        let back = try ModelFile.read(from: url)
        XCTAssertEqual(back, file)
        XCTAssertEqual(back.kind, .mlp)
        XCTAssertEqual(back.training?.seed, 0xFFFF_FFFF_FFFF_FFF1, "64-bit seeds must survive JSON")
        XCTAssertTrue(bitsEqual(back.mlp!.flatParameters, m.flatParameters), "parameters must round-trip exactly")
        XCTAssertEqual(back.featurizer["power"], "0.25")
        XCTAssertEqual(back.predictor.predict(data.x), m.predict(data.x))
    }

    func testLogisticRoundTrip() throws {
        let m = try LogisticModel(weights: [0.1, -2.5e-7, 1.0 / 3], bias: -4.2)
        let back = try ModelFile.decode(ModelFile(model: m).jsonData())
        XCTAssertEqual(back.kind, .logistic)
        XCTAssertEqual(back.logistic, m)
        XCTAssertNil(back.mlp)
        XCTAssertEqual(back.predictor.predict([1, 2, 3]), m.predict([1, 2, 3]))
    }

    private func mutated(_ f: (inout [String: Any]) -> Void) throws -> Data {
        let m = MLP(inputDimension: 2, hiddenLayers: [3], seed: 1)
        var obj = try JSONSerialization.jsonObject(with: ModelFile(model: m).jsonData()) as! [String: Any]
        f(&obj)
        return try JSONSerialization.data(withJSONObject: obj)
    }

    /// Every key model.json writes is snake_case; a file written with the older camelCase
    /// keys of the training records still reads to the same model file (the comparison
    /// and the featurizer were snake_case already).
    func testKeysAreSnakeCaseAndOldCamelCaseFilesRead() throws {
        let data = logisticCountData(rows: 120, n: 10, a: 1, b: -2, seed: 62)
        let cfg = TrainingConfig(learningRate: 0.01, epochs: 3, seed: 7, hiddenLayers: [3], validationFraction: 0.2)
        let (m, r) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        let file = ModelFile(model: m, training: cfg, report: r, featurizer: ["kind": "hashed"])
        let json = try JSONSerialization.jsonObject(with: file.jsonData())
        var keys: [String] = []
        func collect(_ v: Any, under path: String) {
            if let d = v as? [String: Any] {
                for (k, x) in d where path != "featurizer" { keys.append(k); collect(x, under: k) }
            } else if let a = v as? [Any] { a.forEach { collect($0, under: path) } }
        }
        collect(json, under: "")
        XCTAssertTrue(keys.contains("selected_epoch") && keys.contains("learning_rate"), "\(Set(keys))")
        XCTAssertEqual(keys.filter { $0.contains { $0.isUppercase } }, [], "camelCase keys in model.json")

        func camelCase(_ k: String) -> String {
            let parts = k.split(separator: "_")
            return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
        }
        func camel(_ v: Any) -> Any {
            if let d = v as? [String: Any] {
                return Dictionary(uniqueKeysWithValues: d.map { k, x in
                    (camelCase(k), ["featurizer", "comparison"].contains(k) ? x : camel(x)) })
            }
            if let a = v as? [Any] { return a.map(camel) }
            return v
        }
        let old = try JSONSerialization.data(withJSONObject: camel(json))
        XCTAssertTrue(String(decoding: old, as: UTF8.self).contains("selectedEpoch"))
        XCTAssertEqual(try ModelFile.decode(old), file)
    }

    func testWrongFormatIsRefused() throws {
        XCTAssertThrowsError(try ModelFile.decode(mutated { $0["format"] = "onnx" })) {
            XCTAssertEqual($0 as? ModelFileError, .wrongFormat(found: "onnx"))
        }
        XCTAssertThrowsError(try ModelFile.decode(mutated { $0["format"] = nil })) {
            XCTAssertEqual($0 as? ModelFileError, .wrongFormat(found: nil))
        }
        XCTAssertThrowsError(try ModelFile.decode(Data("[1, 2]".utf8))) {
            XCTAssertNotNil($0 as? ModelFileError, "\($0)")
        }
    }

    func testWrongVersionIsRefused() throws {
        XCTAssertThrowsError(try ModelFile.decode(mutated { $0["version"] = 2 })) {
            XCTAssertEqual($0 as? ModelFileError, .unsupportedVersion(found: 2, supported: 1))
            XCTAssertTrue("\($0)".contains("version 2"))
        }
    }

    func testInconsistentContentIsRefused() throws {
        // kind says logistic but only an mlp is present.
        XCTAssertThrowsError(try ModelFile.decode(mutated { $0["kind"] = "logistic" })) {
            guard case .corrupt = $0 as? ModelFileError else { return XCTFail("\($0)") }
        }
        // A layer with the wrong number of weights.
        XCTAssertThrowsError(try ModelFile.decode(mutated {
            var mlp = $0["mlp"] as! [String: Any]
            var layers = mlp["layers"] as! [[String: Any]]
            layers[0]["weights"] = [1.0]
            mlp["layers"] = layers; $0["mlp"] = mlp
        })) {
            guard case .corrupt = $0 as? ModelFileError else { return XCTFail("\($0)") }
        }
    }
}
