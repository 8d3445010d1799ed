import ArgumentParser
import Foundation
import TTUPipeline

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUNDIR/report.html (self-contained) and RUNDIR/summary.json from a run folder.",
        discussion: """
        Reads what `ttu run` left in RUNDIR and writes a page that opens
        offline: the guarantee in one sentence, coverage and bounds, the
        miscoverage curve over τ, the bound histogram, budget planned vs spent,
        the riskiest prompts and a few predicted survival curves.
        """)

    @Argument(help: "The run folder.") var runDir: String

    func run() throws { try ReportStage.run(runDir: runDir, console: .cli()) }
}
