import Foundation
import GRDB
import TTUCore
import TTUFiles
import XCTest
@testable import TTUSampling

/// A fresh temporary directory per test, removed at the end.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ttu-sampling-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Prompts whose text carries their unsafe rate, for the stub: "[rate=0.2] prompt 7".
func stubPrompts(_ n: Int, seed: UInt64 = 3) -> [PromptRecord] {
    var rng = SeededRNG(seed: seed)
    return (0..<n).map { i in
        let r = [0.0, 0.02, 0.1, 0.3, 0.7][Int(rng.next() % 5)]
        return PromptRecord(id: "p\(i)", prompt: "[rate=\(r)] tell me about \"thing\" number \(i)\n")
    }
}

func rateFromPrompt(_ s: String) -> Double {
    guard let a = s.range(of: "[rate="), let b = s[a.upperBound...].firstIndex(of: "]") else { return 0 }
    return Double(s[a.upperBound..<b]) ?? 0
}

/// The true first-unsafe time under the simulated generator, scanning up to `cap`.
func simulatedObservation(p: Double, seed: UInt64, id: String, cap: Int) -> Observation {
    for j in 1...max(cap, 1) where cap > 0 {
        if SimulatedGenerator.isUnsafe(p: p, runSeed: seed, promptID: id, index: j) {
            return Observation(cap: cap, observed: j, event: true)
        }
    }
    return Observation(cap: cap, observed: cap, event: false)
}

struct LogRow { var id: String; var idx: Int; var unsafe: Bool; var score: Double; var text: String? }

func readLog(_ path: String) throws -> [LogRow] {
    var config = Configuration()
    config.busyMode = .timeout(10)
    let q = try DatabaseQueue(path: path, configuration: config)
    return try q.read { db in
        try Row.fetchAll(db, sql: "SELECT prompt_id, idx, unsafe, score, text FROM generations ORDER BY prompt_id, idx").map {
            LogRow(id: $0[0], idx: $0[1], unsafe: $0[2], score: $0[3], text: $0[4])
        }
    }
}

/// Checks the log against observations: for every complete prompt all of 1…observed are
/// logged exactly once, all safe before the observed index, and the observed one unsafe.
func assertLogConsistent(_ rows: [LogRow], _ result: CollectResult, file: StaticString = #filePath, line: UInt = #line) {
    var byID: [String: [LogRow]] = [:]
    for r in rows { byID[r.id, default: []].append(r) }
    for (id, rs) in byID {
        let idx = rs.map(\.idx)
        XCTAssertEqual(Set(idx).count, idx.count, "duplicate index in the log for \(id)", file: file, line: line)
    }
    for (k, id) in result.ids.enumerated() {
        let rs = Dictionary(uniqueKeysWithValues: (byID[id] ?? []).map { ($0.idx, $0) })
        switch result.outcomes[k] {
        case .observed(let o):
            for j in stride(from: 1, to: o.observed, by: 1) {
                guard let r = rs[j] else { XCTFail("\(id): index \(j) counted but not in the log", file: file, line: line); continue }
                XCTAssertFalse(r.unsafe, "\(id): index \(j) before the observation is unsafe", file: file, line: line)
            }
            if o.observed > 0 {
                XCTAssertEqual(rs[o.observed]?.unsafe, o.event, "\(id): observed index", file: file, line: line)
            }
        case .counts(let n, let kk):
            XCTAssertEqual((1...max(n, 1)).filter { n > 0 && rs[$0] != nil }.count, n, "\(id): counts need every index logged", file: file, line: line)
            XCTAssertEqual(rs.values.filter { $0.idx <= n && $0.unsafe }.count, kk, file: file, line: line)
        case .incomplete:
            break
        }
    }
}

func fastRetry(_ max: Int = 6) -> RetryPolicy { RetryPolicy(maxRetries: max, baseDelay: 0.005, maxDelay: 0.05, maxRetryAfter: 1.5) }

func observationRows(_ r: CollectResult) -> [String] {
    let f = r.observations
    return zip(f.ids, f.rows).map { "\($0),\($1.cap),\($1.observed),\($1.event ? 1 : 0)" }
}
