import Foundation

/// model.json's keys are snake_case. Files written before that (version 1 with the training
/// records' camelCase keys) still read: each key is looked up as written now, then in its
/// old camelCase spelling.
struct ModelFileKey: CodingKey {
    var stringValue: String
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }

    /// `learning_rate` → `learningRate`.
    var camelCase: ModelFileKey {
        let parts = stringValue.split(separator: "_")
        return ModelFileKey(parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined())
    }
}

extension KeyedDecodingContainer where K == ModelFileKey {
    func value<T: Decodable>(_ key: String) throws -> T {
        let k = ModelFileKey(key)
        if contains(k) { return try decode(T.self, forKey: k) }
        return try decode(T.self, forKey: contains(k.camelCase) ? k.camelCase : k)
    }

    func optional<T: Decodable>(_ key: String) throws -> T? {
        let k = ModelFileKey(key)
        return try decodeIfPresent(T.self, forKey: k) ?? decodeIfPresent(T.self, forKey: k.camelCase)
    }
}

extension KeyedEncodingContainer where K == ModelFileKey {
    mutating func put<T: Encodable>(_ value: T, _ key: String) throws { try encode(value, forKey: ModelFileKey(key)) }
    mutating func putIfPresent<T: Encodable>(_ value: T?, _ key: String) throws { try encodeIfPresent(value, forKey: ModelFileKey(key)) }
}
