import Foundation

/// The one definition of "words" shared by the lexicon rater, the hashed featurizer and
/// the demo's rate function: lower-cased runs of letters, digits and apostrophes.
public enum WordTokens {
    public static func split(_ s: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        for u in s.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(u) || u == "'" {
                cur.append(u)
            } else if !cur.isEmpty {
                out.append(String(cur)); cur = String.UnicodeScalarView()
            }
        }
        if !cur.isEmpty { out.append(String(cur)) }
        return out
    }
}
