// The trainer's public types: what a run takes and what it returns. The sweep runner, the CLI
// and the demo build on these; the loop itself is in trainer.ts.
import type { Backend } from "../backend/backend.js";
import type { ModelConfig } from "../model/config-types.js";

export interface TrainOptions {
  /** Optimizer steps. */
  steps: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Tokens per sequence (T); at most the config's maxSeqLen. */
  seqLen: number;
  /** Micro-batches per optimizer step (gradient accumulation). Default 1. */
  gradAccum: number;
  /** Peak learning rate. */
  lr: number;
  /** Fraction of steps spent in linear warmup (paper: 0.05). */
  warmupFraction: number;
  /** Final LR as a fraction of peak after cosine decay (paper: 0.1). */
  minLrRatio: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip (paper: 1.0); 0 disables. */
  clipNorm: number;
  /** Validate every N steps (and at the end); 0: only at the end. */
  evalEvery: number;
  /** Validation batches per evaluation (each batchSize x seqLen tokens). */
  evalBatches: number;
  /** Checkpoint every N steps (and at the end); 0: only at the end. */
  checkpointEvery: number;
  seed: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  steps: 1000,
  batchSize: 8,
  seqLen: 256,
  gradAccum: 1,
  lr: 3e-4,
  warmupFraction: 0.05,
  minLrRatio: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clipNorm: 1.0,
  evalEvery: 0,
  evalBatches: 8,
  checkpointEvery: 0,
  seed: 1,
};

export interface TrainRunSpec {
  backend: Backend;
  config: ModelConfig;
  /** Folder written by `crosslayer data` (manifest.json, shards, tokenizer.json). */
  dataDir: string;
  /** Run folder: metrics.jsonl, checkpoints/, result.json. */
  outDir: string;
  options: TrainOptions;
  /** Continue from outDir's latest checkpoint when there is one. */
  resume?: boolean;
  /** Display label for progress lines. */
  label?: string;
  /** No progress display. */
  quiet?: boolean;
  /** Stop early: the step in flight finishes, a checkpoint is written, and the result says so. */
  signal?: AbortSignal;
  /** Called after every optimizer step (metrics, tests, schedulers). */
  onStep?: (step: number, loss: number) => void;
}

export interface TrainResult {
  name: string;
  outDir: string;
  steps: number;
  tokens: number;
  params: number;
  kvBytesPerToken16: number;
  finalTrainLoss: number;
  finalValLoss: number;
  finalValPpl: number;
  tokensPerSecond: number;
  seconds: number;
  backend: string;
  device: string;
  /** Forward matmuls ran on f16 tensor cores (`--tensor-cores`). */
  tensorCores: boolean;
  /** True when `signal` stopped the run before `steps`; resume continues it. */
  interrupted: boolean;
}
