/// The built-in prompt set `ttu demo` runs on (350 short sentence prefixes).
public enum DemoPrompts {
    public static var jsonl: [UInt8] { PackageResources.demo_prompts_jsonl }
}
