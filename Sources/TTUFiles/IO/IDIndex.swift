import TTUCore

/// A string-id → row index map built for the half-million-row files `ttu` reads:
/// open addressing over a cheap FNV-1a hash of the UTF-8 bytes. Swift's `Dictionary`
/// hashes every `String` with a seeded SipHash, which was most of `calibrate`'s time.
public struct IDIndex: Sendable {
    public private(set) var ids: [String] = []
    /// Each slot: the hash's high 32 bits, then row + 1 in the low 32 bits (0 = empty),
    /// so most probes are settled without touching the id strings.
    private var slots: [UInt64]
    private var mask: Int

    public init(capacity: Int = 16) {
        var size = 16
        while size < 2 * max(capacity, 1) { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        ids.reserveCapacity(capacity)
    }

    public var count: Int { ids.count }

    @inline(__always)
    static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { buf in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in buf { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            return SplitMix64.mix(h)
        }
    }

    /// Finds `id`: its row, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ id: String, _ h: UInt64) -> (row: Int?, slot: Int) {
        let tag = h & 0xFFFF_FFFF_0000_0000
        var k = Int(truncatingIfNeeded: h) & mask
        while true {
            let v = slots[k]
            if v == 0 { return (nil, k) }
            if v & 0xFFFF_FFFF_0000_0000 == tag {
                let row = Int(v & 0xFFFF_FFFF) - 1
                if ids[row] == id { return (row, k) }
            }
            k = (k + 1) & mask
        }
    }

    /// The row of `id`, if present.
    public func index(of id: String) -> Int? { probe(id, IDIndex.hash(id)).row }

    /// Appends `id` and returns nil, or returns the row of an earlier equal id (and adds nothing).
    @discardableResult
    public mutating func insert(_ id: String) -> Int? {
        if 2 * (ids.count + 1) > slots.count { grow() }
        let h = IDIndex.hash(id)
        let (row, slot) = probe(id, h)
        if let row { return row }
        ids.append(id)
        slots[slot] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(ids.count)
        return nil
    }

    /// Indexes `ids` in order; on a repeated id returns the rows of both occurrences.
    ///
    /// Table probes are random memory accesses (a cache miss each on big files), so ids
    /// are hashed in blocks and each block's slots are loaded before any is used: the
    /// independent loads overlap instead of waiting one after another.
    public static func build(_ ids: [String]) -> Result<IDIndex, DuplicateID> {
        var index = IDIndex(capacity: ids.count)
        let block = 16
        var hashes = [UInt64](repeating: 0, count: block)
        var start = 0
        while start < ids.count {
            let end = min(start + block, ids.count)
            var touch: UInt64 = 0
            for r in start..<end {
                let h = hash(ids[r])
                hashes[r - start] = h
                touch &+= index.slots[Int(truncatingIfNeeded: h) & index.mask]
            }
            if touch == 1 { index.mask |= 0 }  // keeps the warming loads from being optimised away
            for r in start..<end {
                let h = hashes[r - start]
                let (row, slot) = index.probe(ids[r], h)
                if let row { return .failure(DuplicateID(row: r, firstRow: row)) }
                index.ids.append(ids[r])
                index.slots[slot] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(index.ids.count)
            }
            start = end
        }
        return .success(index)
    }

    public struct DuplicateID: Error {
        public var row: Int
        public var firstRow: Int
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for (r, id) in ids.enumerated() {
            let h = IDIndex.hash(id)
            var k = Int(truncatingIfNeeded: h) & mask
            while slots[k] != 0 { k = (k + 1) & mask }
            slots[k] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(r + 1)
        }
    }
}
