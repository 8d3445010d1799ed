import Foundation
import GRDB

/// One round of a batch collection as the sample log records it: what was asked, and how
/// far it got. It is written before anything is submitted, so a killed run knows, on its
/// rerun, which batch holds its requests and resumes it by id instead of submitting them
/// again.
///
///     batch_rounds(round INTEGER PRIMARY KEY, requests TEXT, request_file TEXT,
///                  request_digest TEXT, input_file_id TEXT, batch_id TEXT,
///                  state TEXT ('prepared' | 'submitted' | 'ingested'), created_at, ingested_at)
///
/// `requests` are the custom_ids of the round, one a line; `request_digest` is the
/// digest of the request file's text (offline: the file `vllm run-batch` reads). The
/// round's generations go into `generations` in the same transaction that marks it
/// ingested, so a round is ingested exactly once.
public struct BatchRound: Sendable, Equatable {
    public enum State: String, Sendable { case prepared, submitted, ingested }
    public var round: Int
    public var requests: [String]
    public var requestFile: String
    public var requestDigest: String
    public var inputFileID: String?
    public var batchID: String?
    public var state: State
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
            try Row.fetchAll(db, sql: "SELECT round, requests, request_file, request_digest, input_file_id, batch_id, state FROM batch_rounds ORDER BY round").map { r in
                let requests: String = r[1]
                guard let state = BatchRound.State(rawValue: r[6]) else {
                    throw FatalSamplingError("\(path): batch round \(r[0] as Int) has an unknown state '\(r[6] as String)'")
                }
                return BatchRound(round: r[0], requests: requests.split(separator: "\n").map(String.init), requestFile: r[2],
                                  requestDigest: r[3], inputFileID: r[4], batchID: r[5], state: state)
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

    /// Logs a round's rated generations and marks it ingested, in one transaction.
    func ingestBatchRound(_ round: Int, rows: [LoggedGeneration]) throws {
        try pool.write { db in
            try SampleLog.insert(rows, into: db)
            try db.execute(sql: "UPDATE batch_rounds SET state = 'ingested', ingested_at = ? WHERE round = ?",
                           arguments: [Date().timeIntervalSince1970, round])
        }
    }
}
