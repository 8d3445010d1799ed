import Foundation

/// model.json's keys are snake_case (each type's `CodingKeys`). Files written before that
/// (version 1, with the training records' camelCase keys) still read: the decoder turns
/// every camelCase key into snake_case before the types see it (`learningRate` →
/// `learning_rate`); keys that are snake_case already, the featurizer's among them, pass
/// unchanged.
enum ModelFileKeys {
    static let decoding = JSONDecoder.KeyDecodingStrategy.custom { path in
        SnakeKey(snakeCase(path.last!.stringValue))
    }

    static func snakeCase(_ key: String) -> String {
        guard key.contains(where: \.isUppercase) else { return key }
        return key.reduce(into: "") { out, c in out += c.isUppercase ? "_" + c.lowercased() : String(c) }
    }

    private struct SnakeKey: CodingKey {
        var stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
