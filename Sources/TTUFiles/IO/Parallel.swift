import Foundation

/// `body(k)` for every k in `0..<count`, on up to `count` threads at once; the results in
/// order of k. Callers take the first failure in that order, so errors read as if the
/// tasks had been done one after another.
public func parallelResults<T>(_ count: Int, _ body: (Int) throws -> T) -> [Result<T, Error>] {
    if count == 1 { return [Result { try body(0) }] }
    let out = UnsafeMutablePointer<Result<T, Error>?>.allocate(capacity: count)
    out.initialize(repeating: nil, count: count)
    defer { out.deinitialize(count: count); out.deallocate() }
    withoutActuallyEscaping(body) { body in
        let slots = SendablePointer(out)
        DispatchQueue.concurrentPerform(iterations: count) { k in
            // Each iteration writes only its own slot.
            slots.pointer[k] = Result { try body(k) }
        }
    }
    return (0..<count).map { out[$0]! }
}

/// A pointer handed to the threads of `parallelResults`, each of which writes its own element.
struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
