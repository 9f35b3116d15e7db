// `bench train`: tokens/s of real training steps through the trainer itself (trainRun: forward,
// backward, AdamW with global-norm clipping, its per-step host reads) on random token ids, the
// median over the steps after warm-up, with MFU-style context: trainFlopsPerToken x tokens/s
// against the device's f32 ceiling (the table `bench ops` uses). Rows only; printing is the CLI's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendName } from "../backend/backend.js";
import { createBackend } from "../backend/registry.js";
import { ConfigError } from "../errors.js";
import { countParams, trainFlopsPerToken } from "../model/accounting.js";
import { findPreset } from "../model/presets/index.js";
import { readMetrics } from "../train/metrics.js";
import { trainRun } from "../train/trainer.js";
import { DEFAULT_TRAIN_OPTIONS } from "../train/types.js";
import { type Ceiling, cpuCeiling, knownCeiling } from "./ceilings.js";
import { median } from "./timing.js";
import { writeRandomShards } from "./train-data.js";

export interface TrainBenchOptions {
  backend: BackendName;
  /** Preset name; default per backend (see TRAIN_BENCH_DEFAULTS). */
  config?: string;
  batch?: number;
  seq?: number;
  /** Timed steps (the median is reported). */
  steps?: number;
  /** Untimed steps first (pipeline compilation, allocation, JIT). */
  warmup?: number;
  /** CPU only: kernel threads (default: available cores). */
  threads?: number;
  /** WebGPU only: f16 tensor-core matmuls (registry BackendOptions.tensorCores). */
  tensorCores?: boolean;
  seed?: number;
  /** Called after each step (1-based, of warmup + steps) with its wall seconds (progress only). */
  onStep?: (step: number, total: number, seconds: number) => void;
}

/** webgpu: the issue's ~30M MQA model (C 512, L 8, V 8192, T 512, B 32); cpu: the ~2M tiny MQA. */
export const TRAIN_BENCH_DEFAULTS: Record<
  BackendName,
  Required<Omit<TrainBenchOptions, "backend" | "threads" | "tensorCores" | "onStep">>
> = {
  webgpu: { config: "small-H64-MQA", batch: 32, seq: 512, steps: 10, warmup: 3, seed: 1 },
  cpu: { config: "tiny-H16-MQA", batch: 4, seq: 256, steps: 8, warmup: 2, seed: 1 },
};

export interface TrainBenchRow {
  bench: "train";
  backend: BackendName;
  device: string;
  config: string;
  params: number;
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  /** Matmuls on f16 tensor cores (--tensor-cores). */
  tensorCores: boolean;
  /** The first step (allocation, pipeline/JIT warm-up included). */
  firstStepSeconds: number;
  medianStepSeconds: number;
  minStepSeconds: number;
  maxStepSeconds: number;
  tokensPerSecond: number;
  trainFlopsPerToken: number;
  /** Model FLOP/s achieved: trainFlopsPerToken x tokensPerSecond / 1e9. */
  gflops: number;
  /** The device's f32 ceiling (GFLOP/s) and gflops / ceiling, when known. */
  ceiling?: number;
  mfu?: number;
  finalLoss: number;
}

export interface TrainBenchResult {
  row: TrainBenchRow;
  detail: string;
  notes: string[];
}

function posInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`--${name} ${v} must be a positive integer`);
  return v;
}

export async function runTrainBench(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  const d = TRAIN_BENCH_DEFAULTS[opts.backend];
  const name = opts.config ?? d.config;
  const config = findPreset(name);
  if (!config) {
    throw new ConfigError(
      `unknown preset "${name}": \`crosslayer plan --list\` shows them (e.g. ${d.config})`,
    );
  }
  const batch = posInt("batch", opts.batch ?? d.batch);
  const seq = posInt("seq", opts.seq ?? Math.min(d.seq, config.maxSeqLen));
  const steps = posInt("steps", opts.steps ?? d.steps);
  const warmup = opts.warmup ?? d.warmup;
  if (!Number.isInteger(warmup) || warmup < 0) throw new ConfigError(`--warmup ${warmup} must be >= 0`);
  const seed = opts.seed ?? d.seed;
  const total = warmup + steps;

  const root = mkdtempSync(join(tmpdir(), "crosslayer-bench-train-"));
  const backend = await createBackend(opts.backend, {
    ...(opts.threads ? { threads: opts.threads } : {}),
    ...(opts.tensorCores ? { tensorCores: true } : {}),
  });
  try {
    const info = backend.info();
    const threads = opts.threads ?? info.limits.maxThreads ?? 1;
    const ceiling: Ceiling | undefined =
      opts.backend === "cpu" ? await cpuCeiling(threads) : knownCeiling(info.device);
    const dataDir = join(root, "data");
    // windows are T + 1 tokens at stride T: one spare window so no step wraps into a new epoch
    writeRandomShards({
      dir: dataDir,
      vocabSize: config.vocabSize,
      trainTokens: (total + 1) * batch * seq + 1,
      valTokens: batch * seq + 1,
      seed,
    });
    const outDir = join(root, "run");
    const options = { ...DEFAULT_TRAIN_OPTIONS, steps: total, batchSize: batch, seqLen: seq, seed };
    let last = performance.now();
    const onStep = (step: number) => {
      const now = performance.now();
      opts.onStep?.(step, total, (now - last) / 1000);
      last = now;
    };
    const result = await trainRun({
      backend,
      config,
      dataDir,
      outDir,
      options: { ...options, evalBatches: 1 },
      quiet: true,
      onStep,
    });
    const train = readMetrics(join(outDir, "metrics.jsonl")).filter((m) => m.kind === "train");
    // the trainer times each step from its start to its last host read (the GPU work is done)
    const secs = train.map((m) => (batch * seq) / (m.tokensPerSecond as number));
    const timed = secs.slice(warmup);
    const med = median(timed);
    const tokensPerSecond = (batch * seq) / med;
    const flopsPerToken = trainFlopsPerToken(config, seq);
    const gflops = (flopsPerToken * tokensPerSecond) / 1e9;
    const row: TrainBenchRow = {
      bench: "train",
      backend: opts.backend,
      device: info.device,
      config: config.name,
      params: countParams(config).total,
      batch,
      seq,
      steps,
      warmup,
      tensorCores: opts.tensorCores ?? false,
      firstStepSeconds: secs[0]!,
      medianStepSeconds: med,
      minStepSeconds: Math.min(...timed),
      maxStepSeconds: Math.max(...timed),
      tokensPerSecond,
      trainFlopsPerToken: flopsPerToken,
      gflops,
      ...(ceiling ? { ceiling: ceiling.gflops, mfu: gflops / ceiling.gflops } : {}),
      finalLoss: result.finalTrainLoss,
    };
    const notes = [
      ceiling
        ? `ceiling: ${ceiling.source}`
        : `ceiling: no known figures for "${info.device}" (add it to src/bench/ceilings.ts)`,
      "FLOPs/token: src/model/accounting.ts trainFlopsPerToken (3 x forward matmuls + causal attention)",
      "data: random ids uniform over the vocabulary; each step ends with the trainer's loss and grad-norm reads",
    ];
    return { row, detail: info.detail, notes };
  } finally {
    backend.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}
