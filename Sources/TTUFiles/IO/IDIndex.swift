import TTUCore

/// A string-id → row index map built for the half-million-row files `ttu` reads:
/// open addressing over a cheap hash of the UTF-8 bytes. Swift's `Dictionary` hashes
/// every `String` with a seeded SipHash, which was most of `calibrate`'s time.
///
/// A slot's position comes from the hash's top bits, so the slots of hashes that share
/// their top byte lie together; `build` inserts the ids grouped that way (each group in
/// row order), which keeps every probe of a group inside a few kilobytes of cache instead
/// of a random access into the whole table.
public struct IDIndex: Sendable {
    public private(set) var ids: [String] = []
    /// Each slot: the hash's low 32 bits, then row + 1 in the low 32 bits (0 = empty),
    /// so most probes are settled without touching the id strings.
    private var slots: [UInt64]
    private var mask: Int
    /// 64 − log2(slot count): a hash's home slot is `hash >> shift`.
    private var shift: UInt64

    public init(capacity: Int = 16) {
        var size = 16
        while size < 2 * max(capacity, 1) { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        ids.reserveCapacity(capacity)
    }

    public var count: Int { ids.count }

    /// An in-memory hash of the UTF-8 bytes (never stored): eight bytes at a time, each
    /// word mixed in with SplitMix64's finalizer, the length in the seed.
    @inline(__always)
    static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { buf in
            let n = buf.count
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
            guard let base = buf.baseAddress else { return SplitMix64.mix(h) }
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= n {
                h = SplitMix64.mix(h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            var tail: UInt64 = 0, shift: UInt64 = 0
            while i < n { tail |= UInt64(buf[i]) << shift; shift += 8; i += 1 }
            return SplitMix64.mix(h ^ tail)
        }
    }

    @inline(__always)
    private static func tag(_ h: UInt64) -> UInt64 { h << 32 }

    /// Finds `id` (hash `h`) among `rows`' strings: its row, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ id: String, _ h: UInt64, rows: [String]) -> (row: Int?, slot: Int) {
        let tag = IDIndex.tag(h)
        var k = Int(truncatingIfNeeded: h >> shift)
        while true {
            let v = slots[k]
            if v == 0 { return (nil, k) }
            if v & 0xFFFF_FFFF_0000_0000 == tag {
                let row = Int(v & 0xFFFF_FFFF) - 1
                if rows[row] == id { return (row, k) }
            }
            k = (k + 1) & mask
        }
    }

    /// The row of `id`, if present.
    public func index(of id: String) -> Int? { probe(id, IDIndex.hash(id), rows: ids).row }

    /// Appends `id` and returns nil, or returns the row of an earlier equal id (and adds nothing).
    @discardableResult
    public mutating func insert(_ id: String) -> Int? {
        if 2 * (ids.count + 1) > slots.count { grow() }
        let h = IDIndex.hash(id)
        let (row, slot) = probe(id, h, rows: ids)
        if let row { return row }
        ids.append(id)
        slots[slot] = IDIndex.tag(h) | UInt64(ids.count)
        return nil
    }

    /// Indexes `ids` in order; on a repeated id returns the rows of the first repetition
    /// (the smallest row whose id appeared before) and of that id's first occurrence.
    ///
    /// Hashes every id, groups the rows by the top byte of their hash (a stable counting
    /// sort, so each group stays in row order), then inserts group by group. Equal ids
    /// hash alike and share a group, so each group finds its own first repetition; the
    /// file's first one is the smallest of those.
    public static func build(_ ids: [String]) -> Result<IDIndex, DuplicateID> {
        let n = ids.count
        var index = IDIndex(capacity: n)
        guard n > 0 else { return .success(index) }
        let hashes = ids.map(hash)
        let groupBits = min(8, Int(64 - index.shift))
        let groupShift = UInt64(64 - groupBits)
        var next = [Int](repeating: 0, count: (1 << groupBits) + 1)
        for h in hashes { next[Int(truncatingIfNeeded: h >> groupShift) + 1] += 1 }
        for g in 0..<(1 << groupBits) { next[g + 1] += next[g] }
        // (hash, row) in group order, so that the insertion below reads them front to back.
        var groupedHash = [UInt64](repeating: 0, count: n)
        var groupedRow = [Int32](repeating: 0, count: n)
        for (r, h) in hashes.enumerated() {
            let g = Int(truncatingIfNeeded: h >> groupShift)
            groupedHash[next[g]] = h
            groupedRow[next[g]] = Int32(truncatingIfNeeded: r)
            next[g] += 1
        }
        var first: DuplicateID? = nil
        let (shift, mask) = (index.shift, index.mask)
        index.slots.withUnsafeMutableBufferPointer { slots in
            for k in 0..<n {
                let h = groupedHash[k], r = Int(groupedRow[k])
                let tag = IDIndex.tag(h)
                var s = Int(truncatingIfNeeded: h >> shift)
                while true {
                    let v = slots[s]
                    if v == 0 { slots[s] = tag | UInt64(r + 1); break }
                    // The strings are read only when the 32-bit tags agree.
                    if v & 0xFFFF_FFFF_0000_0000 == tag {
                        let row = Int(v & 0xFFFF_FFFF) - 1
                        if ids[row] == ids[r] {
                            if first.map({ r < $0.row }) ?? true { first = DuplicateID(row: r, firstRow: row) }
                            break
                        }
                    }
                    s = (s + 1) & mask
                }
            }
        }
        if let first { return .failure(first) }
        index.ids = ids
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
        shift = UInt64(64 - size.trailingZeroBitCount)
        for (r, id) in ids.enumerated() {
            let h = IDIndex.hash(id)
            var k = Int(truncatingIfNeeded: h >> shift)
            while slots[k] != 0 { k = (k + 1) & mask }
            slots[k] = IDIndex.tag(h) | UInt64(r + 1)
        }
    }
}
