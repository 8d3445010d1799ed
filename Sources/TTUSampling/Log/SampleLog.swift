import Foundation
import GRDB
import GRDBSQLite
import TTUFiles

/// One rated generation, as logged.
public struct LoggedGeneration: Sendable {
    public var promptID: String
    public var index: Int
    public var score: Double
    public var unsafe: Bool
    public var endpoint: String
    public var latencyMs: Double
    public var createdAt: Double
    public var text: String?
}

/// The SQLite sample log (WAL mode): a cache of rated generations keyed by (prompt,
/// index), plus what makes a generation at that key reproducible.
///
///     run(key TEXT PRIMARY KEY, value TEXT)      param.* = generation/rater identity
///     prompts(prompt_id PRIMARY KEY, digest)       each prompt's text (+ simulated rate)
///     generations(prompt_id, idx, score, unsafe, endpoint, latency_ms, created_at, text,
///                 UNIQUE(prompt_id, idx))
///     batch_rounds(…)                              the batch backend's rounds (SampleLog+Batch)
///
/// A row exists only for a generation that was both generated and rated. Generation
/// `idx` of a prompt is drawn with a seed derived from (run seed, prompt id, idx), so
/// the log is valid for any run with the same identity: another prompt set, deeper caps,
/// counts instead of early stopping, or another threshold (`unsafe` is recomputed from
/// `score`; the stored column is the flag at the threshold of the run that drew it).
/// Rows are committed in batches by a single writer thread (every 2048 rows or 200 ms); a
/// kill loses at most the uncommitted batch, which a rerun draws again with the same seeds.
public final class SampleLog: @unchecked Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens the log at `path`, created when missing (with its folder) unless `mustExist`.
    public init(path: String, mustExist: Bool = false) throws {
        if mustExist, !FileManager.default.fileExists(atPath: path) {
            throw InputError(file: path, "no such sample log")
        }
        self.path = path
        pool = try SampleLog.openPool(path: path, what: "the sample log", schema: """
                    CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS prompts (prompt_id TEXT PRIMARY KEY NOT NULL, digest TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS generations (
                        prompt_id TEXT NOT NULL,
                        idx INTEGER NOT NULL CHECK (idx >= 1),
                        score REAL NOT NULL,
                        unsafe INTEGER NOT NULL CHECK (unsafe IN (0, 1)),
                        endpoint TEXT NOT NULL,
                        latency_ms REAL NOT NULL,
                        created_at REAL NOT NULL,
                        text TEXT,
                        UNIQUE (prompt_id, idx)
                    );
                    """, cacheKiB: SampleLog.writerCacheKiB)
    }

    /// Page cache of each connection. Rows arrive round-robin over prompts, so every commit
    /// touches the `(prompt_id, idx)` index leaf of each prompt in flight: with SQLite's
    /// default 2 MB cache a large run re-reads those leaves from the file on every commit.
    /// 16 MB holds the hot leaves of tens of thousands of prompts (memory, not durability).
    static let writerCacheKiB = 16 * 1024

    /// Opens (or creates) a WAL SQLite database with `schema` applied; any failure is a
    /// `FatalSamplingError` naming the file and `what` it is.
    static func openPool(path: String, what: String, schema: String, cacheKiB: Int? = nil) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(10)
        if let cacheKiB {
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        }
        try OutputPath.prepare(path, what: what, example: "log.sqlite")
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            try pool.write { try $0.execute(sql: schema) }
            return pool
        } catch let e as DatabaseError where e.resultCode == .SQLITE_NOTADB {
            throw InputError(file: path, "not a SQLite database, so not \(what) (give a new file name, or the log ttu wrote)")
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CANTOPEN || e.resultCode == .SQLITE_READONLY || e.resultCode == .SQLITE_PERM {
            throw InputError(file: path, "cannot open \(what): \(e.resultCode == .SQLITE_CANTOPEN ? "no permission to create or read it here" : "the file or its folder is read-only")")
        } catch {
            throw FatalSamplingError("\(path): cannot open \(what): \(error)")
        }
    }

    /// Run-shape keys that logs written before the log became a cache pinned; ignored now.
    static let legacyRunShapeKeys: Set<String> = ["mode", "prompts_and_caps", "threshold"]

    /// The identity of the generations (model, sampling settings, seed, rater…): a run
    /// must repeat it exactly. On a fresh log it is stored; on an existing one any
    /// difference is refused with the differing keys listed.
    /// How to start afresh, for both ways a log is named (`ttu collect --db`, or a run folder's own log).
    var newLogHint: String {
        "start a new log: another --db for ttu collect, another run_dir (or remove \(path)) for ttu run"
    }

    public func checkParameters(_ params: [String: String]) throws {
        try pool.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM run WHERE key LIKE 'param.%'")
            var stored: [String: String] = [:]
            for r in rows { stored[String((r["key"] as String).dropFirst(6))] = r["value"] }
            for k in SampleLog.legacyRunShapeKeys { stored[k] = nil }
            if stored.isEmpty {
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM generations") ?? 0
                if count > 0, rows.isEmpty {
                    throw FatalSamplingError("\(path): has \(count) generations but no run parameters: not a ttu sample log; \(newLogHint)")
                }
                for (k, v) in params {
                    try db.execute(sql: "INSERT OR REPLACE INTO run (key, value) VALUES (?, ?)", arguments: ["param." + k, v])
                }
                try db.execute(sql: "INSERT OR REPLACE INTO run (key, value) VALUES ('created_at', ?)",
                               arguments: [ISO8601DateFormatter().string(from: Date())])
                return
            }
            var diffs: [String] = []
            for k in Set(stored.keys).union(params.keys).sorted() where stored[k] != params[k] {
                diffs.append("\(k): \(stored[k] ?? "(none)") in the log, \(params[k] ?? "(none)") now")
            }
            if !diffs.isEmpty {
                throw FatalSamplingError("\(path) holds generations made with different parameters, so reusing it would mix two kinds of sample. "
                    + "Differences: " + diffs.joined(separator: "; ")
                    + ". Rerun with the original parameters, or \(newLogHint).")
            }
        }
    }

    /// Checks each prompt against the digest stored when the log first saw its id (the
    /// same id with another text would silently reuse the other text's generations) and
    /// records the new ones. `digests` is parallel to `ids`.
    public func checkPrompts(ids: [String], digests: [String]) throws {
        precondition(ids.count == digests.count)
        try pool.write { db in
            var known: [String: String] = [:]
            let cursor = try Row.fetchCursor(db, sql: "SELECT prompt_id, digest FROM prompts")
            while let r = try cursor.next() { known[r[0]] = r[1] }
            let insert = try db.cachedStatement(sql: "INSERT INTO prompts (prompt_id, digest) VALUES (?, ?)")
            for (id, d) in zip(ids, digests) {
                if let old = known[id] {
                    if old != d {
                        throw FatalSamplingError("\(path): prompt id '\(id)' was sampled with another text (or simulated rate) than it has now; "
                            + "its logged generations belong to that text. Give the prompt a new id, or \(newLogHint).")
                    }
                    continue
                }
                insert.setUncheckedArguments([id, d])
                try insert.execute()
                known[id] = d
            }
        }
    }

    /// The stored run parameters.
    public func parameters() throws -> [String: String] {
        try pool.read { db in
            var out: [String: String] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT key, value FROM run WHERE key LIKE 'param.%'") {
                out[String((r["key"] as String).dropFirst(6))] = r["value"]
            }
            return out
        }
    }

    /// Streams every logged (prompt id, index, score) without loading them all at once.
    public func forEachRated(_ body: (String, Int, Double) throws -> Void) throws {
        try pool.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT prompt_id, idx, score FROM generations")
            while let row = try cursor.next() {
                try body(row[0], row[1], row[2])
            }
        }
    }

    public func count() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM generations") ?? 0 }
    }

    /// Inserts `rows` in one transaction. A duplicate (prompt, index) is a bug and fails loudly.
    ///
    /// The prepared statement is bound and stepped through the SQLite C API: GRDB's
    /// per-row argument arrays and execution bookkeeping cost about as much as SQLite's
    /// own insert against a fast server, and this statement needs none of it.
    public func insert(_ rows: [LoggedGeneration]) throws {
        if rows.isEmpty { return }
        try pool.write { db in try SampleLog.insert(rows, into: db) }
    }

    /// `insert`'s statement, inside the caller's transaction.
    static func insert(_ rows: [LoggedGeneration], into db: Database) throws {
        let stmt = try db.cachedStatement(sql: SampleLog.insertSQL)
        let h = stmt.sqliteStatement
        defer { sqlite3_reset(h) }
        func check(_ code: CInt, _ ok: CInt = SQLITE_OK) throws {
            if code != ok {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: stmt.sql)
            }
        }
        func bind(_ k: CInt, _ text: String?) throws {
            guard var text else { return try check(sqlite3_bind_null(h, k)) }
            // With its length, so text holding NUL is stored whole; never a NULL pointer
            // (that would bind SQL NULL for "").
            try check(text.withUTF8 { u in
                u.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text(h, k, $0.baseAddress ?? SampleLog.empty, CInt($0.count), SampleLog.transient)
                }
            })
        }
        for r in rows {
            try check(sqlite3_reset(h))
            try bind(1, r.promptID)
            try check(sqlite3_bind_int64(h, 2, Int64(r.index)))
            try check(sqlite3_bind_double(h, 3, r.score))
            try check(sqlite3_bind_int64(h, 4, r.unsafe ? 1 : 0))
            try bind(5, r.endpoint)
            try check(sqlite3_bind_double(h, 6, r.latencyMs))
            try check(sqlite3_bind_double(h, 7, r.createdAt))
            try bind(8, r.text)
            try check(sqlite3_step(h), SQLITE_DONE)
        }
    }

    static let insertSQL = """
        INSERT INTO generations (prompt_id, idx, score, unsafe, endpoint, latency_ms, created_at, text)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """
    private static let empty: UnsafePointer<CChar> = { ("" as StaticString).utf8Start.withMemoryRebound(to: CChar.self, capacity: 1) { $0 } }()
    /// SQLite copies bound text (`SQLITE_TRANSIENT`).
    static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    public func setInfo(_ key: String, _ value: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO run (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }
}

/// The single writer: producers `append`, a dedicated thread commits in batches.
///
/// Two commit schedules:
/// - timed (`interval` given, the default): a commit when `batchSize` rows are queued or
///   `interval` seconds passed, of everything queued;
/// - count-defined (`interval: nil`, for fault injection): a commit of exactly
///   `batchSize` rows, in the order they were handed over, whenever that many are queued
///   (and of the remainder at `close`). Which rows are committed then depends only on
///   the order of the `append` calls, never on how fast the writer thread runs.
///
/// With `killAfterRows` (a testing seam, see `FaultPoint`) the append that brings the rows
/// handed over to that number or more is the last one: `onKill` is called (once), later
/// appends are dropped, and the writer commits every full batch still queued and drops
/// the partial one — what a kill -9 would leave with a count-defined schedule.
final class LogWriter: @unchecked Sendable {
    let log: SampleLog
    let batchSize: Int
    /// Seconds between timed commits; nil: count-defined commits only.
    let interval: Double?
    private let cond = NSCondition()
    private var pending: [LoggedGeneration] = []
    private var closing = false
    private var finished = false
    private(set) var committed = 0
    private(set) var failure: Error?
    private var thread: Thread?
    /// Most rows queued before `append` waits for the writer: keeps memory flat when
    /// generations come faster than SQLite commits them (simulated or very fast servers).
    let maxPending: Int
    /// Fault injection: the hand-over count at which the writer "dies", and whom to tell.
    let killAfterRows: Int?
    private let onKill: (@Sendable () -> Void)?
    private var handedOver = 0
    private var killed = false

    /// - Parameter batchSize: rows per commit under load. A commit rewrites every page it
    ///   dirtied (into the WAL), and rows arrive round-robin over prompts, so each commit
    ///   touches most of the `(prompt_id, idx)` index: against a fast server the writer's
    ///   CPU per row falls from 5.8 µs at 64 rows per commit to 2.6 µs at 512 and 1.8 µs at
    ///   2048. At ordinary generation rates the 200 ms `interval` commits first.
    init(log: SampleLog, batchSize: Int = 2048, interval: Double? = 0.2, maxPending: Int? = nil,
         killAfterRows: Int? = nil, onKill: (@Sendable () -> Void)? = nil) {
        self.log = log
        self.batchSize = max(1, batchSize)
        self.interval = interval
        self.maxPending = max(maxPending ?? max(4096, 4 * batchSize), batchSize, 1)
        self.killAfterRows = killAfterRows
        self.onKill = onKill
        pending.reserveCapacity(self.batchSize * 2)
        let t = Thread { [unowned self] in self.loop() }
        t.name = "ttu-sample-log"
        thread = t
        t.start()
    }

    /// Whether the fault-injection kill point was reached.
    var wasKilled: Bool { cond.lock(); defer { cond.unlock() }; return killed }

    /// Queues rows; throws if an earlier commit failed (disk full, …). Waits (briefly
    /// blocking the calling thread) while `maxPending` rows are already queued. After a
    /// fault-injection kill the rows are dropped.
    func append(_ rows: [LoggedGeneration]) throws {
        cond.lock()
        while failure == nil, !finished, !killed, !pending.isEmpty, pending.count + rows.count > maxPending { cond.wait() }
        if let failure { cond.unlock(); throw failure }
        if killed { cond.unlock(); return }
        pending.append(contentsOf: rows)
        handedOver += rows.count
        var dies = false
        if let k = killAfterRows, handedOver >= k { killed = true; dies = true }
        // Producers may be waiting on the same condition: wake everyone, the writer included.
        if pending.count >= batchSize || dies { cond.broadcast() }
        cond.unlock()
        if dies { onKill?() }
    }

    private func loop() {
        while true {
            cond.lock()
            if pending.count < batchSize && !closing && !killed {
                if let interval { _ = cond.wait(until: Date(timeIntervalSinceNow: interval)) } else { cond.wait() }
            }
            let batch: [LoggedGeneration]
            var done = false
            if interval == nil || killed {
                // Count-defined: exactly `batchSize` rows in hand-over order; the partial
                // remainder only at `close`, and never after a kill.
                if pending.count >= batchSize {
                    batch = Array(pending.prefix(batchSize))
                    pending.removeFirst(batchSize)
                } else if killed {
                    pending.removeAll()
                    batch = []
                    done = true
                } else if closing {
                    batch = pending
                    pending.removeAll(keepingCapacity: true)
                    done = batch.isEmpty
                } else {
                    batch = []
                }
            } else {
                batch = pending
                pending.removeAll(keepingCapacity: true)
                done = closing && batch.isEmpty
            }
            if !batch.isEmpty { cond.broadcast() }  // room again for waiting producers
            cond.unlock()
            if done { break }
            if batch.isEmpty { continue }
            do {
                try log.insert(batch)
                cond.lock(); committed += batch.count; cond.unlock()
            } catch {
                cond.lock()
                failure = FatalSamplingError("\(log.path): cannot write the sample log: \(error)")
                finished = true; cond.broadcast(); cond.unlock()
                return
            }
        }
        cond.lock(); finished = true; cond.broadcast(); cond.unlock()
    }

    /// Commits everything queued and stops the writer thread (after a fault-injection
    /// kill: only the full batches, see the type's documentation).
    func close() throws {
        cond.lock()
        closing = true
        cond.broadcast()
        while !finished { cond.wait() }
        let f = failure
        cond.unlock()
        if let f { throw f }
    }
}
