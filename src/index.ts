// The public API of crosslayer: the CLI, the HTTP server and the browser playground use only
// what is exported here. Explicit list; nothing re-exported wholesale.
export type {
  Backend,
  BackendInfo,
  BackendName,
  MatmulOptions,
  AttentionOptions,
  AdamWOptions,
  PagedAttentionMeta,
} from "./backend/backend.js";
export type { DType, DeviceBuffer, Tensor } from "./backend/tensor.js";
export { view, reshape, slice0, numel, bytesPerElement } from "./backend/tensor.js";
export {
  createBackend,
  createDefaultBackend,
  probeBackends,
  type BackendOptions,
} from "./backend/registry.js";
export { CrosslayerError, ShapeError, ConfigError, BackendError, FormatError } from "./errors.js";
export type { KvSharing, ModelConfig } from "./model/config-types.js";
export {
  parseModelConfig,
  loadModelConfig,
  modelConfigSchema,
  CONFIG_DEFAULTS,
  type ModelConfigInput,
} from "./model/config.js";
export {
  producerMap,
  kvLayers,
  validateProducerMap,
  patternProducers,
  uniformProducers,
  SHARING_PATTERNS,
  type SharingPattern,
} from "./model/sharing.js";
export {
  countParams,
  forwardFlopsPerToken,
  trainFlopsPerToken,
  kvBytesPerToken,
  kvBytesPerToken16,
  accountModel,
  type KvDtype,
  type ParamCounts,
  type FlopCounts,
  type ModelAccounting,
} from "./model/accounting.js";
export { listPresets, findPreset, type Preset } from "./model/presets/index.js";
export {
  planCapacity,
  parseByteSize,
  parseTokenCount,
  formatBytes,
  type PlanOptions,
  type CapacityPlan,
} from "./model/plan.js";
export { Model, type ModelOptions, type TokenBatch } from "./model/model.js";
export {
  buildLayout,
  PARAM_ALIGN,
  type ParamLayout,
  type ParamSpec,
  type ParamRange,
  type ParamRole,
} from "./model/layout.js";
export {
  readCorpus,
  sourceFromPath,
  type CorpusSource,
  type CorpusDocument,
} from "./data/corpus.js";
export { detokenizeBrown, brownCatalog } from "./data/corpus-brown.js";
export type { TextTokenizer, TokenizerKind, TokenizerSpec } from "./data/tokenizers/types.js";
export { ByteTokenizer } from "./data/tokenizers/byte-tokenizer.js";
export { BpeTokenizer } from "./data/tokenizers/bpe-tokenizer.js";
export { trainBpe, PieceCounter, type TrainBpeOptions } from "./data/tokenizers/bpe-train.js";
export { loadGpt2Tokenizer } from "./data/tokenizers/gpt2.js";
export { loadTokenizer, tokenizerFromSpec } from "./data/tokenizers/resolve.js";
export {
  readTokenizerJson,
  writeTokenizerJson,
  parseTokenizerJson,
  type HfTokenizerJson,
} from "./io/tokenizer-json.js";
export {
  buildShards,
  type BuildShardsOptions,
  type ShardProgress,
  type TokenizerChoice,
} from "./data/shards.js";
export { readManifest, type ShardManifest } from "./data/manifest.js";
export { isValidationDocument } from "./data/split.js";
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderState } from "./data/loader.js";
export {
  resolveKvLayout,
  type KvLayout,
  type KvDType,
  type ResolvedKvLayout,
} from "./infer/kv-layout.js";
export { BlockPool } from "./infer/block-pool.js";
export { BlockTables, type AllocResult, type BlockCopy } from "./infer/block-tables.js";
export { KvCache, blocksForBudget, type KvCacheOptions, type KvViews } from "./infer/kv-cache.js";
export { kvWriteRef, pagedAttentionRef, type PagedAttentionRefArgs } from "./backend/reference/paged.js";
export {
  Sampler,
  filteredDistribution,
  validateSamplingParams,
  type SamplingParams,
} from "./infer/sampler.js";
export { StopChecker, type StopOptions, type FinishReason } from "./infer/stop.js";
export { Scheduler, type SchedulerOptions, type StepPlan, type StepItem } from "./infer/scheduler.js";
export { LocalEngine, type LocalEngineOptions } from "./infer/engine.js";
export {
  loadForInference,
  engineFromCheckpoint,
  resolveCheckpointDir,
  type LoadedForInference,
  type CheckpointEngineOptions,
} from "./infer/load.js";
export {
  normalizeRequest,
  type Engine,
  type EngineStats,
  type GenerationRequest,
  type GenerationChunk,
  type GenerationFinishReason,
  type TextCodec,
} from "./infer/types.js";
export { RequestError, KvCacheError, SamplingError, type RequestErrorCode } from "./infer/errors.js";
export {
  parseSweepSpec,
  loadSweepSpec,
  tokensPerRun,
  type SweepSpec,
  type SweepConfig,
  type LrPlan,
  type SweepTrainOptions,
} from "./experiments/spec.js";
export {
  searchLr,
  formatLr,
  canonicalLr,
  lrStep,
  type LrSearchOptions,
  type LrSearchResult,
  type LrTrial,
} from "./experiments/lr-search.js";
export { planSweep, formatPlan, runName, runDir, type SweepPlan, type PlanRow } from "./experiments/plan.js";
export {
  runSweep,
  type RunSweepOptions,
  type SweepOutcome,
  type ConfigOutcome,
  type TrainFn,
} from "./experiments/runner.js";
export {
  loadResults,
  loadResultsDetailed,
  parseResults,
  appendResult,
  RESULT_FORMAT,
  type ResultRecord,
  type LoadedResults,
} from "./experiments/results.js";
export {
  summarizeResults,
  pickBestLr,
  markPareto,
  type SummaryRow,
  type LrSummary,
} from "./experiments/summary.js";
export { paretoFrontier, frontierPoints, dominates, type ParetoPoint } from "./experiments/pareto.js";
export { configGroup, CONFIG_GROUPS, type ConfigGroup } from "./experiments/groups.js";
export { parsePaperTable, loadPaperTable, PAPER_FIXED_LR } from "./experiments/paper-table.js";
export { paretoVegaLiteSpec, renderParetoSvg, svgToPng, type PlotOptions } from "./experiments/plot.js";
export {
  writeReport,
  formatMarkdown,
  formatCsv,
  type ReportOptions,
  type ReportFiles,
} from "./experiments/report.js";
