/// Fixed-width columns for terminal tables.
public enum TextTable {
    /// `s` padded to `w` characters (left-aligned, or right-aligned); a longer `s` keeps
    /// one space as a separator.
    public static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        let n = s.count
        if n >= w { return right ? " " + s : s + " " }
        let sp = String(repeating: " ", count: w - n)
        return right ? sp + s : s + sp
    }
}
