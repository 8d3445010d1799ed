import Foundation
import GRDB
import TTUFiles

/// Reads a sample log (the schema `SampleLog` writes) without creating or changing it:
/// the first k scores of every prompt, for metrics over a fixed number of generations.
public enum SampleLogReader {
    /// One log's prompts: those with all of generations 1…k logged, in the order the log
    /// first saw them, and how many others it holds (fewer than k).
    public struct Prefixes: Sendable {
        public var ids: [String] = []
        /// `scores[i][j]`: the score of generation j + 1 of prompt `ids[i]`.
        public var scores: [[Double]] = []
        /// Prompts with generations logged but not all of 1…k.
        public var short: Int = 0
        /// The most generations 1, 2, … in a row any prompt of the log has.
        public var longest: Int = 0
        /// The log's identity (`run` table `param.*`): model, rater, seed…
        public var parameters: [String: String] = [:]
    }

    /// The scores of generations 1…k of every prompt of the log at `path` that has them all.
    public static func prefixes(path: String, k: Int) throws -> Prefixes {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "cannot read the sample log (no such file)") }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: path, configuration: config) } catch {
            throw InputError(file: path, "cannot open the sample log: \(error)")
        }
        do {
            return try queue.read { db in
                guard try db.tableExists("generations"), try db.tableExists("prompts"), try db.tableExists("run") else {
                    throw InputError(file: path, "not a ttu sample log (no generations, prompts and run tables)")
                }
                var out = Prefixes()
                for r in try Row.fetchAll(db, sql: "SELECT key, value FROM run WHERE key LIKE 'param.%'") {
                    out.parameters[String((r["key"] as String).dropFirst(6))] = r["value"]
                }
                // Prompts in the order the log first saw them (prompts.rowid), then any other id.
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT g.prompt_id, g.idx, g.score FROM generations g LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
                    ORDER BY p.rowid IS NULL, p.rowid, g.prompt_id, g.idx
                    """)
                var current: String?
                var run: [Double] = []
                var contiguous = true
                func flush() {
                    guard current != nil else { return }
                    out.longest = max(out.longest, run.count)
                    if run.count >= k {
                        out.ids.append(current!)
                        out.scores.append(Array(run.prefix(k)))
                    } else {
                        out.short += 1
                    }
                }
                while let row = try cursor.next() {
                    let id: String = row[0], idx: Int = row[1], score: Double = row[2]
                    if id != current {
                        flush()
                        (current, run, contiguous) = (id, [], true)
                    }
                    // Rows come by index: generation idx extends the run only if it is the next one.
                    if contiguous, idx == run.count + 1 { run.append(score) } else { contiguous = false }
                }
                flush()
                return out
            }
        } catch let e as InputError {
            throw e
        } catch {
            throw InputError(file: path, "cannot read the sample log: \(error)")
        }
    }
}
