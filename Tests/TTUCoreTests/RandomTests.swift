import XCTest
@testable import TTUCore

/// The generators against fixed reference values, and the distributions against their
/// moments with tolerances of about five standard errors (all seeds are fixed, so the
/// checks are deterministic; the tolerance only says how far a correct sampler can be).
///
/// The reference values were computed once by an independent Python implementation of
/// the published algorithms (SplitMix64 of Steele et al., xoshiro256** of Blackman and
/// Vigna, 64-bit FNV-1a), written from their papers and not from this package's code:
///
///     M = 2**64 - 1
///     def mix(z):
///         z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
///         z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
///         return z ^ (z >> 31)
///     def splitmix(state):                     # yields outputs
///         while True: state = (state + 0x9E3779B97F4A7C15) & M; yield mix(state)
///     def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
///     def xoshiro(seed):                       # state = first four SplitMix64 outputs
///         g = splitmix(seed); s = [next(g) for _ in range(4)]
///         while True:
///             r = (rotl((s[1] * 5) & M, 7) * 9) & M; t = (s[1] << 17) & M
///             s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
///             yield r
///     def fnv(b):
///         h = 0xCBF29CE484222325
///         for c in b: h = ((h ^ c) * 0x100000001B3) & M
///         return mix(h)
///     def combine(a, b): return mix(mix(a) ^ ((b + 0x9E3779B97F4A7C15) & M))
///     uniform_open(x) = ((x >> 11) + 0.5) * 2**-53
///     geometric(u, p) = 1 + floor(log(u) / log1p(-p))
///
/// SplitMix64 seeded with 0 gives 0xE220A8397B1DCDAF first, the published test value.
final class RandomTests: XCTestCase {
    func testSplitMix64ReferenceValues() {
        var a = SplitMix64(state: 0)
        XCTAssertEqual(a.next(), 0xE220_A839_7B1D_CDAF)
        var b = SplitMix64(state: 1_234_567)
        XCTAssertEqual((0..<3).map { _ in b.next() }, [0x599E_D017_FB08_FC85, 0x2C73_F084_5854_0FA5, 0x883E_BCE5_A3F2_7C77])
    }

    func testSeededRNGReferenceValues() {
        var r42 = SeededRNG(seed: 42)
        XCTAssertEqual((0..<5).map { _ in r42.next() },
                       [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1, 0xFDE6_DC7F_E2EC_5E64])
        var r0 = SeededRNG(seed: 0)
        XCTAssertEqual((0..<3).map { _ in r0.next() }, [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
    }

    func testDerivedStreamsAndStableHashReferenceValues() {
        let d = SeededRNG(seed: 42).derived(1)
        XCTAssertEqual(d.seed, 0x1EF1_6D11_D128_814D)
        var dd = d
        XCTAssertEqual([dd.next(), dd.next()], [0xE208_829B_28D4_6EE9, 0x08E1_2FD2_E688_8491])
        XCTAssertEqual(StableHash.string(""), 0xF52A_15E9_A9B5_E89B)
        XCTAssertEqual(StableHash.string("a"), 0x02C0_BDBF_4814_20F8)
        XCTAssertEqual(StableHash.string("héllo"), 0x18E3_66C2_AC71_CBBE)  // hashed as UTF-8
        XCTAssertEqual(StableHash.generationSeed(seed: 1, promptID: "a", index: 3), 0x419F_5019_EE10_3F33)
        XCTAssertEqual(StableHash.generationSeed(seed: 1, promptID: "a", index: 4), 0xB854_7076_6EF1_4AD4)
        XCTAssertEqual(StableHash.generationSeed(seed: 7, promptID: "p1", index: -1), 0x5949_D6CD_47EA_11C1)
    }

    func testUniformOpenAndGeometricReferenceValues() {
        var r = SeededRNG(seed: 42)
        XCTAssertEqual((0..<3).map { _ in r.uniformOpen().bitPattern },
                       [0x1.5780b2e0c2ec4p-4, 0x1.84136619b444fp-2, 0x1.5c2ea66473c94p-1].map(\.bitPattern))
        var g = SeededRNG(seed: 7)
        XCTAssertEqual((0..<6).map { _ in g.geometric(0.01) }, [36, 128, 18, 2, 1, 14])
        var h = SeededRNG(seed: 7)
        XCTAssertEqual((0..<6).map { _ in h.geometric(1e-6) }, [355_852, 1_277_435, 174_797, 19_084, 9_182, 136_079])
        // The degenerate rates take no draw.
        var k = SeededRNG(seed: 7)
        XCTAssertEqual([k.geometric(1), k.geometric(0), k.geometric(0.01)], [1, Int.max, 36])
    }

    func testUniformNormalAndBernoulliMoments() {
        var rng = SeededRNG(seed: 3)
        let n = 100_000
        let u = (0..<n).map { _ in rng.uniformOpen() }
        XCTAssertTrue(u.allSatisfy { $0 > 0 && $0 < 1 })
        let um = u.reduce(0, +) / Double(n)
        let uv = u.reduce(0) { $0 + ($1 - um) * ($1 - um) } / Double(n - 1)
        XCTAssertEqual(um, 0.5, accuracy: 0.0046)  // se = √(1/12)/√n ≈ 0.00091
        XCTAssertEqual(uv, 1.0 / 12, accuracy: 0.0013)  // se = √(1/180)/√n ≈ 0.00024
        let z = (0..<n).map { _ in rng.normal() }
        let zm = z.reduce(0, +) / Double(n)
        let zv = z.reduce(0) { $0 + ($1 - zm) * ($1 - zm) } / Double(n - 1)
        let tail = Double(z.filter { $0 > 1.959963984540054 }.count) / Double(n)
        XCTAssertEqual(zm, 0, accuracy: 0.016)  // se = 1/√n ≈ 0.0032
        XCTAssertEqual(zv, 1, accuracy: 0.023)  // se = √(2/n) ≈ 0.0045
        XCTAssertEqual(tail, 0.025, accuracy: 0.0025)  // se = √(0.025·0.975/n) ≈ 0.00049
        let b = Double((0..<n).filter { _ in rng.bernoulli(0.3) }.count) / Double(n)
        XCTAssertEqual(b, 0.3, accuracy: 0.0073)  // se = √(0.21/n) ≈ 0.00145
        XCTAssertTrue(rng.bernoulli(1))
        XCTAssertFalse(rng.bernoulli(0))
    }

    func testGeometricAndBinomialMoments() {
        var rng = SeededRNG(seed: 7)
        let p = 0.01, draws = 40_000
        let g = (0..<draws).map { _ in Double(rng.geometric(p)) }
        let mean = g.reduce(0, +) / Double(draws)
        // sd of T is √(1−p)/p ≈ 99.5; the mean's standard error ≈ 0.5
        XCTAssertEqual(mean, 100, accuracy: 2.5)
        // P(T = 1) = p: se = √(p(1−p)/draws) ≈ 0.0005
        XCTAssertEqual(Double(g.filter { $0 == 1 }.count) / Double(draws), p, accuracy: 0.0025)
        let k = (0..<draws).map { _ in Double(rng.binomial(500, 0.02)) }
        let km = k.reduce(0, +) / Double(draws)
        let kv = k.reduce(0) { $0 + ($1 - km) * ($1 - km) } / Double(draws - 1)
        // mean 10, sd √9.8 ≈ 3.13: se ≈ 0.016; the variance's se ≈ 9.8·√(2/draws) ≈ 0.07
        XCTAssertEqual(km, 10, accuracy: 0.08)
        XCTAssertEqual(kv, 9.8, accuracy: 0.36)
        XCTAssertEqual(rng.binomial(0, 0.5), 0)
        XCTAssertEqual(rng.binomial(7, 1), 7)
        XCTAssertEqual(rng.binomial(7, 0), 0)
    }

    /// Fisher–Yates: each output is a permutation, and element 0 lands on each of the
    /// 5 positions with probability 1/5 (count se = √(draws·0.2·0.8) ≈ 89).
    func testPermutationIsUniform() {
        var rng = SeededRNG(seed: 11)
        let draws = 50_000
        var at = [Int](repeating: 0, count: 5)
        for _ in 0..<draws {
            let perm = rng.permutation(5)
            XCTAssertEqual(perm.sorted(), [0, 1, 2, 3, 4])
            at[perm.firstIndex(of: 0)!] += 1
        }
        for c in at { XCTAssertEqual(Double(c), 10_000, accuracy: 450, "\(at)") }
        XCTAssertEqual(rng.permutation(1), [0])
        XCTAssertEqual(rng.permutation(0), [])
    }
}
