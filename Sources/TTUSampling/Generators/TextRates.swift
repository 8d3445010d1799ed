import Foundation
import TTUCore

/// Known unsafe probabilities as a deterministic function of the prompt text, for the
/// simulated generator of `ttu demo` (and `generator.simulated_rate_function: demo`).
///
/// `p(text) = clamp(base × Π multiplier(w), 1e-4, 0.2)` over the distinct lower-cased
/// words `w` of the text: heated words (argument, insult, furious, …) multiply the rate
/// up, calm ones (recipe, garden, thank, …) multiply it down. Nothing is learned or
/// measured here: it is the ground truth of a **simulation**, chosen so a text
/// predictor has something to find and the rates span about 1e-4 … 0.2.
public enum TextRates {
    public static let base = 2e-3
    public static let floor = 1e-4
    public static let ceiling = 0.2

    public static let multipliers: [String: Double] = [
        // heated
        "angry": 4, "furious": 6, "hate": 8, "hated": 8, "insult": 10, "insults": 10, "rude": 5, "yell": 4,
        "yelled": 4, "scream": 3, "screamed": 3, "fight": 4, "fighting": 4, "argument": 3, "stupid": 6,
        "idiot": 8, "useless": 3, "rant": 5, "curse": 8, "cursing": 8, "swear": 8, "swearing": 8, "mad": 3,
        "revenge": 5, "annoying": 3, "neighbor": 2, "traffic": 2, "boss": 2, "ex": 3, "troll": 6, "roast": 6,
        "worst": 3, "slammed": 3, "honestly": 1.5, "drunk": 4, "bar": 2,
        // calm
        "recipe": 0.2, "garden": 0.25, "thank": 0.3, "thanks": 0.3, "please": 0.5, "grandmother": 0.3,
        "library": 0.3, "poem": 0.4, "weather": 0.4, "kitten": 0.25, "tea": 0.4, "museum": 0.3, "birthday": 0.5,
        "science": 0.4, "sunset": 0.3, "quietly": 0.4, "gently": 0.3, "lesson": 0.5,
    ]

    public static func demo(_ text: String) -> Double {
        var p = base
        var seen = Set<String>()
        for w in WordTokens.split(text) where seen.insert(w).inserted {
            if let m = multipliers[w] { p *= m }
        }
        return min(max(p, floor), ceiling)
    }
}
