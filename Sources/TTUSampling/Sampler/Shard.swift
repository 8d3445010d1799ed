import TTUCore

/// One of N deterministic shards of a prompt set (`ttu collect --shard K/N`): a prompt
/// belongs to shard `StableHash.string(id) mod N + 1`, so the same id is in the same shard
/// on every machine, whatever else the prompt file holds. Generation seeds are per
/// (run seed, prompt id, index), so shards collected apart and merged (`ttu merge`) give
/// the observations of the unsharded collection byte for byte.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `K/N` with 1 ≤ K ≤ N.
    public init?(parsing s: String) {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else { return nil }
        self.init(index: k, count: n)
    }

    public func contains(_ id: String) -> Bool {
        Int(StableHash.string(id) % UInt64(count)) == index - 1
    }

    public var description: String { "\(index)/\(count)" }
}
