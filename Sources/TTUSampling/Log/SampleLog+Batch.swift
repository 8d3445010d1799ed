import Foundation
import GRDB

/// One round of a batch collection as the sample log records it: what was asked, and how
/// far it got. It is written before anything is submitted, so a killed run knows, on its
/// rerun, which batch holds its requests and resumes it by id instead of submitting them
/// again.
///
///     batch_rounds(round INTEGER PRIMARY KEY, requests TEXT, request_file TEXT,
///                  request_digest TEXT, input_file_id TEXT, batch_id TEXT,
///                  state TEXT ('prepared' | 'submitted' | 'ingested'), failures TEXT,
///                  created_at, ingested_at)
///
/// `requests` are the custom_ids of the round, one a line; `request_digest` is the
/// digest of the request file's text (offline: the file `vllm run-batch` reads);
/// `failures` the requests of an ingested round that gave no rated generation, with
/// why (`custom_id<TAB>reason` a line), so the rounds a request failed in are counted
/// across reruns (offline, every round is a rerun). The round's generations go into
/// `generations` in the same transaction that marks it ingested, so a round is ingested
/// exactly once.
public struct BatchRound: Sendable, Equatable {
    public enum State: String, Sendable { case prepared, submitted, ingested }
    public var round: Int
    public var requests: [String]
    public var requestFile: String
    public var requestDigest: String
    public var inputFileID: String?
    public var batchID: String?
    public var state: State
    /// Ingested: the requests that gave no rated generation, and why.
    public var failures: [String: String] = [:]
}

extension SampleLog {
    static let batchSchema = """
        CREATE TABLE IF NOT EXISTS batch_rounds (
            round INTEGER PRIMARY KEY NOT NULL,
            requests TEXT NOT NULL,
            request_file TEXT NOT NULL,
            request_digest TEXT NOT NULL,
            input_file_id TEXT,
            batch_id TEXT,
            state TEXT NOT NULL CHECK (state IN ('prepared', 'submitted', 'ingested')),
            failures TEXT,
            created_at REAL NOT NULL,
            ingested_at REAL
        );
        """

    /// Creates the batch table when the log has none (an online log gains it on its first batch run).
    func prepareBatchRounds() throws {
        try pool.write { try $0.execute(sql: SampleLog.batchSchema) }
    }

    /// The rounds so far, in order.
    func batchRounds() throws -> [BatchRound] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT round, requests, request_file, request_digest, input_file_id, batch_id, state, failures FROM batch_rounds ORDER BY round").map { r in
                let requests: String = r[1]
                guard let state = BatchRound.State(rawValue: r[6]) else {
                    throw FatalSamplingError("\(path): batch round \(r[0] as Int) has an unknown state '\(r[6] as String)'")
                }
                var failures: [String: String] = [:]
                for line in ((r[7] as String?) ?? "").split(separator: "\n") {
                    let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                    failures[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                return BatchRound(round: r[0], requests: requests.split(separator: "\n").map(String.init), requestFile: r[2],
                                  requestDigest: r[3], inputFileID: r[4], batchID: r[5], state: state, failures: failures)
            }
        }
    }

    /// Records a new round (state `prepared`), before anything is submitted.
    func recordBatchRound(_ b: BatchRound) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO batch_rounds (round, requests, request_file, request_digest, input_file_id, batch_id, state, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [b.round, b.requests.joined(separator: "\n"), b.requestFile, b.requestDigest, b.inputFileID, b.batchID,
                                 b.state.rawValue, Date().timeIntervalSince1970])
        }
    }

    /// Records how far a round's submission got.
    func updateBatchRound(_ round: Int, inputFileID: String?, batchID: String?, state: BatchRound.State) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE batch_rounds SET input_file_id = ?, batch_id = ?, state = ? WHERE round = ?",
                           arguments: [inputFileID, batchID, state.rawValue, round])
        }
    }

    /// Logs a round's rated generations and its failed requests and marks it ingested, in one transaction.
    func ingestBatchRound(_ round: Int, rows: [LoggedGeneration], failures: [String: String]) throws {
        let text = failures.keys.sorted().map { id in
            id + "\t" + failures[id]!.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
        }.joined(separator: "\n")
        try pool.write { db in
            try SampleLog.insert(rows, into: db)
            try db.execute(sql: "UPDATE batch_rounds SET state = 'ingested', failures = ?, ingested_at = ? WHERE round = ?",
                           arguments: [text, Date().timeIntervalSince1970, round])
        }
    }

    /// The first round whose failures count against a request: a run that reports prompts
    /// incomplete sets it past its last round, so a rerun tries them again (as online).
    func batchRetryFrom() throws -> Int {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM run WHERE key = 'batch_retry_from_round'").flatMap { Int($0) } ?? 1
        }
    }
}
