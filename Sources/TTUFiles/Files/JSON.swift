import Foundation

/// JSON the way every `ttu` file is written: pretty, sorted keys, newline at the end.
/// `snakeCaseKeys`: property names become snake_case (`meanLPB` → `mean_lpb`).
public func encodeJSON<T: Encodable>(_ value: T, snakeCaseKeys: Bool = false) throws -> String {
    let e = JSONEncoder()
    if snakeCaseKeys { e.keyEncodingStrategy = .convertToSnakeCase }
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(value), as: UTF8.self) + "\n"
}

public func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    if let bad = data.withUnsafeBytes({ invalidUTF8Offset($0.bindMemory(to: UInt8.self)) }) {
        throw notUTF8Error(file: file, bytes: data, offset: bad)
    }
    do {
        return try d.decode(type, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
        throw InputError(file: file, field: key.stringValue, "missing key")
    } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
        throw InputError(file: file, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), ctx.debugDescription)
    } catch let DecodingError.dataCorrupted(ctx) {
        let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        throw InputError(file: file, field: field.isEmpty ? nil : field, ctx.debugDescription)
    } catch {
        throw InputError(file: file, "not valid JSON: \(error)")
    }
}

public func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(file: path, "cannot read file (missing or unreadable)")
    }
    return try decodeJSON(type, from: data, file: path)
}
