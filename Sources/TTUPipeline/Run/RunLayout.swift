import Foundation
import TTUFiles
import TTUSampling

/// The files of a run folder (README: "ttu run"): one file per stage, each a person can open.
public struct RunLayout: Sendable {
    public let dir: URL
    public init(dir: URL) { self.dir = dir }
    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    /// The split files are in the input's format: `jsonl`, or `csv` for a CSV prompt file.
    public var promptExtension = "jsonl"
    public var trainPrompts: String { path("split/train.\(promptExtension)") }
    public var calibrationPrompts: String { path("split/calibration.\(promptExtension)") }
    public var testPrompts: String { path("split/test.\(promptExtension)") }
    public var rates: String { path("simulated_rates.csv") }
    public var trainCounts: String { path("train_counts.csv") }
    public var model: String { path("model.json") }
    public var predictionsCalibration: String { path("predictions_calibration.csv") }
    public var predictionsTest: String { path("predictions_test.csv") }
    public var plan: String { path("plan.csv") }
    public var calibrationObservations: String { path("calibration_obs.csv") }
    public var calibration: String { path("calibration.json") }
    public var lpb: String { path("lpb_test.csv") }
    public var testObservations: String { path("test_obs.csv") }
    public var evaluation: String { path("evaluation.json") }
    public var info: String { path("run.json") }
    public var summary: String { path("summary.json") }
    public var report: String { path("report.html") }
    public var manifest: String { path("manifest.json") }
}

/// What the report needs to know about how the run was made (no secrets: the API key
/// is only ever named by its environment variable).
public struct RunInfo: Codable, Sendable {
    public var title: String
    public var generator: String
    public var model: String?
    public var rater: String
    public var simulated: Bool
    public var riskiest: Int
    /// API, endpoints, sampling settings, rater: what the report's setting table shows.
    public var setting: RunSummary.Setting?
    /// Where the prompt files keep prompt and id; absent for the standard `id`, `prompt`.
    public var promptFormat: PromptFormat?
    /// `csv` when the prompts (and so the split files) are CSV; absent for JSONL.
    public var promptFile: String?

    enum CodingKeys: String, CodingKey {
        case title, generator, model, rater, simulated, riskiest, setting
        case promptFormat = "prompt_format", promptFile = "prompt_file"
    }
}

/// Per stage: the hash of its inputs (settings it reads + input files) and of its outputs.
/// A stage whose inputs hash and outputs are unchanged is skipped on a rerun.
struct RunManifest: Codable {
    struct Entry: Codable { var key: String; var outputs: [String: String] }
    var stages: [String: Entry] = [:]

    static func digest(file path: String) -> String {
        guard let d = FileManager.default.contents(atPath: path) else { return "missing" }
        return CollectInputs.digest([String(decoding: d, as: UTF8.self)])
    }
}
