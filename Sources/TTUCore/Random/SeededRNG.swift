/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64).
///
/// `TTUCore` never uses global randomness: every draw takes one of these, so every
/// result is reproducible from its seed. Use `derived(_:)` to split independent
/// streams (one per repetition, per prompt, …) without them overlapping in practice.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// The seed this generator was created from (for reports).
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var sm = SplitMix64(state: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = SeededRNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededRNG.rotl(s3, 45)
        return result
    }

    /// An independent generator for sub-stream `stream` of this seed
    /// (e.g. repetition r of a simulation): same inputs, same stream.
    public func derived(_ stream: UInt64) -> SeededRNG {
        SeededRNG(seed: StableHash.combine(seed, stream))
    }
}

/// SplitMix64: used to expand a 64-bit seed into xoshiro state and to mix hashes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }
    /// The SplitMix64 finalizer: a bijective avalanche of 64 bits.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Hashes that are stable across runs, processes and platforms (Swift's `Hasher` is
/// randomly seeded per process, so it must never decide a draw).
public enum StableHash {
    /// FNV-1a over the UTF-8 bytes of `s`, then mixed.
    public static func string(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h)
    }
    /// Combines two 64-bit values into one, order-sensitive.
    public static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        SplitMix64.mix(SplitMix64.mix(a) ^ (b &+ 0x9E37_79B9_7F4A_7C15))
    }
    /// The seed for generation `index` of prompt `id` under run seed `seed`: what a
    /// generation request carries so a server that honours seeds is reproducible.
    public static func generationSeed(seed: UInt64, promptID: String, index: Int) -> UInt64 {
        combine(combine(seed, string(promptID)), UInt64(bitPattern: Int64(index)))
    }
}
