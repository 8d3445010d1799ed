import TTUCore
import TTUFiles
import TTUSampling

// The types of the lower layers that the pipeline's API hands to its callers (the CLI
// among them), so that a caller imports TTUPipeline alone.

/// How a plan spends the budget (TTUCore).
public typealias AllocationStrategy = TTUCore.AllocationStrategy
/// The PAC guarantee's concentration inequality (TTUCore).
public typealias ConcentrationInequality = TTUCore.ConcentrationInequality
/// The synthetic experiment `ttu simulate` runs (TTUCore).
public typealias CalibrationStudy = TTUCore.CalibrationStudy
/// Bad input, named by file, line and field (TTUFiles).
public typealias InputError = TTUFiles.InputError
/// Number formatting shared by files, tables and reports (TTUFiles).
public typealias Num = TTUFiles.Num
/// The settings that go on the wire with each generation request (TTUSampling).
public typealias SamplingSettings = TTUSampling.SamplingSettings
/// A sampling failure no retry can fix (bad key, unknown model): the run stops (TTUSampling).
public typealias FatalSamplingError = TTUSampling.FatalSamplingError
/// One of N deterministic shards of a prompt set (`ttu collect --shard K/N`) (TTUSampling).
public typealias Shard = TTUSampling.Shard
/// What a text rater reads: the completion, or prompt + completion (TTUSampling).
public typealias RaterInput = TTUSampling.RaterInput
