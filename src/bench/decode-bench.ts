// `crosslayer bench decode`: decode speed of the paged-KV engine step (CachedForward: kvWrite +
// pagedAttention) per config x batch x context, with bytes moved per step against the device's
// measured copy bandwidth, and the largest batch a memory budget holds (planCapacity). Random
// weights; the cache is pre-filled with constant K/V (speed does not depend on values); each timed
// step decodes one token for every sequence and reads back the greedy tokens (device argmax where the
// backend has it; `--logits` reads the logits rows instead). On webgpu each row also carries the
// runtime's counters per step (dispatches, submits, host reads/writes, aliasing copies, new bind
// groups) and a host-clock breakdown of the step (recording, submit-to-readback wait, host work
// after the read). Speed lives here, not in tests.
import type { Backend, BackendName } from "../backend/backend.js";
import { type AttentionMmaMode, createBackend } from "../backend/registry.js";
import { bytesPerElement } from "../backend/tensor.js";
import { CachedForward, type ForwardItem } from "../infer/cached-forward.js";
import { KvCache } from "../infer/kv-cache.js";
import type { KvDType } from "../infer/kv-layout.js";
import type { ModelConfig } from "../model/config-types.js";
import { loadModelConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { formatBytes, planCapacity } from "../model/plan.js";
import { producerMap } from "../model/sharing.js";
import { copyBandwidth, type DecodeProfileRow } from "./decode-profile.js";
import { canProfile, profileSteps } from "./kernel-profile.js";
import { spinUp } from "./gpu-spin.js";
import { collectGarbage } from "./heap.js";
import {
  type DecodeRowBase,
  type EngineDecodeRow,
  engineDecodeRow,
  engineExtraTokens,
  engineMaxBatchTokens,
} from "./engine-decode.js";

/** Decode steps an engine row times at least: a shorter window is dominated by its first steps. */
const ENGINE_MIN_STEPS = 64;
export interface DecodeBenchOptions {
  backend: BackendName;
  configs: string[];
  batches: number[];
  contexts: number[];
  kvDtype: KvDType;
  /** Timed steps per row (after `warmup`), fewer when a row would pass `rowSeconds`. */
  steps: number;
  warmup: number;
  rowSeconds: number;
  /** Rows whose KV pools exceed this are skipped (with a note). */
  maxKvBytes: number;
  /** Budget for the capacity rows (weights + KV + 5% reserve). */
  memoryBytes: number;
  blockSize: number;
  /** Read the logits rows each step instead of the device argmax. */
  readLogits?: boolean;
  /** webgpu: when pagedAttention runs its tensor-core kernel (registry BackendOptions). */
  attentionMma?: AttentionMmaMode;
  /** webgpu: submit at an op boundary every this many dispatches (overlaps recording with the GPU). */
  submitEvery?: number;
  /** webgpu: replay recorded decode steps (Backend.replayable; default true). */
  replay?: boolean;
  /**
   * Greedy rows on a device argmax: record and submit step i + 1 (its input tokens chained from
   * step i's argmax on the device) before reading step i's tokens, so the host's recording and
   * readback overlap the GPU's work.
   */
  pipeline?: boolean;
  /** Also decode through the whole engine (engine-decode rows; see engine-decode.ts). */
  engine?: boolean;
  /** The engine rows' greedy steps in flight beyond the one being read (default: the engine's). */
  runAhead?: number;
  /** After each decode row, time its steps' kernels on the GPU (decode-profile rows; webgpu). */
  profile?: boolean;
  /** Time the decode rows' steps on the GPU too (DecodeRow.gpuMs; webgpu with timestamp-query). */
  gpuTime?: boolean;
  onRow?: (row: BenchRow) => void;
}

/** Per-step counts of the webgpu runtime (averaged over the timed steps). */
export interface StepCounts {
  dispatches: number;
  submits: number;
  reads: number;
  writes: number;
  shadowCopies: number;
  bindGroupsCreated: number;
  /** Recorded decode steps replayed (0 when every step ran its ops). */
  replays: number;
}

export interface DecodeRow extends DecodeRowBase {
  bench: "decode";
  steps: number;
  stepMs: number;
  tokensPerSecond: number;
  /** Weights (f32) + K/V every layer reads (a sharing layer re-reads its producer's) + K/V written. */
  bytesPerStep: number;
  /** The part of bytesPerStep that is the K/V cache. */
  kvReadBytes: number;
  gbps: number;
  copyGbps: number;
  /** How copyGbps was timed (decode-profile.ts copyBandwidth). */
  copyMethod: "gpu-timestamps" | "host-clock";
  /** What the host reads per step: the argmax tokens (4 bytes per sequence) or the logits rows. */
  readback: "argmax" | "logits";
  /** Steps overlapped (DecodeBenchOptions.pipeline): the record/wait/after split below then
   *  means what the host does per step while the GPU runs the step before. */
  pipelined: boolean;
  /** webgpu only: runtime counters per step. */
  perStep?: StepCounts;
  /**
   * webgpu only, host clock, ms per step. One step at a time: step start to the last submit
   * (recording), that submit to the readback's mapAsync resolving (GPU + round trip), then to step
   * end (copy-out, sampling). Pipelined: recording the next step up to its submit, waiting for the
   * step before's tokens (the GPU still busy: > 0 means GPU-bound), and the submit call with the
   * read's setup (hostAfterMs).
   */
  recordMs?: number;
  gpuWaitMs?: number;
  hostAfterMs?: number;
  /**
   * With DecodeBenchOptions.gpuTime: GPU busy time per timed step (timestamps around each step's
   * compute passes), ms. Near stepMs: the GPU bounds the row; well under it: the host does.
   * Absent when some pass could not be timed (the timer's buffers full).
   */
  gpuMs?: number;
  /**
   * Times between consecutive steps' results on the host clock, ms (rows of >= 3 steps): the median
   * is the steady step; a max far above it marks host pauses that the mean (stepMs) includes, e.g.
   * the Node process's garbage collections (3.5-70 ms, measured at batch 128 on the H100 machine),
   * during which the GPU runs out of queued steps.
   */
  stepMsMedian?: number;
  stepMsMax?: number;
  /** webgpu only: the --submit-every setting, when given. */
  submitEvery?: number;
}

export type BenchRow = DecodeRow | CapacityRow | EngineDecodeRow | DecodeProfileRow;

export interface CapacityRow {
  bench: "decode-capacity";
  config: string;
  context: number;
  memoryBytes: number;
  kvBytesPerToken: number;
  maxBatch: number;
}

export const DECODE_DEFAULTS = {
  configs: ["small-H64-MQA", "small-H64-MQA-CLA2"],
  batches: [1, 16, 128],
  contexts: [512, 4096],
  steps: 8,
  warmup: 2,
  rowSeconds: 20,
  maxKvBytes: 2 * 2 ** 30,
  memory: "2GiB",
  blockSize: 16,
};

interface RowSpec {
  cfg: ModelConfig;
  model: Model;
  batch: number;
  context: number;
}

async function decodeRow(
  be: Backend,
  o: DecodeBenchOptions,
  r: RowSpec,
  copy: { gbps: number; method: DecodeRow["copyMethod"] },
): Promise<{ row: DecodeRow; profile: DecodeProfileRow | null }> {
  const { cfg, batch: B, context: S } = r;
  const producers = producerMap(cfg);
  const layout = { nLayers: cfg.nLayers, producers, nKvHeads: cfg.nKvHeads, headDim: cfg.headDim };
  const total = S + 2 * Math.max(o.warmup, WARMUP_MAX) + o.steps + (o.profile ? o.steps + 2 : 0);
  const numBlocks = B * Math.ceil(total / o.blockSize);
  const cache = new KvCache({
    backend: be,
    layout: { ...layout, dtype: o.kvDtype, blockSize: o.blockSize },
    numBlocks,
  });
  for (let l = 0; l < cfg.nLayers; l++) {
    if (producers[l] !== l) continue;
    be.fill(cache.kvViewsFor(l).k, 0.01);
    be.fill(cache.kvViewsFor(l).v, 0.01);
  }
  const ids = Array.from({ length: B }, (_, b) => `s${b}`);
  for (const id of ids) {
    cache.allocateFor(id, total);
    cache.append(id, S - 1); // the first S - 1 tokens' K/V are "cached"
  }
  const fwd = new CachedForward(r.model, cache);
  const argmax = !o.readLogits && fwd.deviceArgmax;
  const items = (): ForwardItem[] =>
    ids.map((id, b) => {
      const start = cache.length(id);
      return { id, start, tokens: [(b + start) % cfg.vocabSize], slots: cache.append(id, 1), sample: true };
    });
  const pipelined = (o.pipeline ?? false) && argmax;
  const step = async () => {
    if (argmax) await fwd.runGreedy(items());
    else await fwd.run(items());
  };
  const marks = runtimeMarks(be);
  /**
   * n steps, each submitted before the previous one's tokens are read (see
   * DecodeBenchOptions.pipeline); with `split`, the host's time per step added to it (DecodeRow).
   */
  const chain = async (
    n: number,
    split?: { recordMs: number; gpuWaitMs: number; hostAfterMs: number },
    ends?: number[],
  ) => {
    let pending: Promise<unknown> = fwd.runGreedy(items());
    for (let i = 1; i < n; i++) {
      const a = performance.now();
      const next = fwd.runGreedy(items(), { chained: true });
      const b = performance.now();
      const submitted = marks && marks.submit >= a ? marks.submit : b;
      await pending;
      ends?.push(performance.now());
      if (split) {
        split.recordMs += (submitted - a) / (n - 1);
        split.hostAfterMs += (b - submitted) / (n - 1);
        split.gpuWaitMs += (performance.now() - b) / (n - 1);
      }
      pending = next;
    }
    await pending;
    ends?.push(performance.now());
  };
  // a clean heap (heap.ts), the GPU back at its working clocks after the row's set-up (gpu-spin.ts),
  // then a warm-up of at least o.warmup calls and WARMUP_SECONDS of work, at most WARMUP_MAX calls
  collectGarbage();
  await spinUp(be, SPIN_SECONDS);
  let once = Number.POSITIVE_INFINITY;
  const w0 = performance.now();
  for (let i = 0; i < WARMUP_MAX && (i < o.warmup || performance.now() - w0 < WARMUP_SECONDS * 1e3); i++) {
    const t0 = performance.now();
    await (pipelined ? chain(2) : step());
    once = Math.min(once, (performance.now() - t0) / (pipelined ? 2 : 1));
  }
  const steps = Math.max(2, Math.min(o.steps, Math.floor((o.rowSeconds * 1e3) / once)));
  const stats = runtimeStats(be);
  const before = stats ? { ...stats } : null;
  const split = { recordMs: 0, gpuWaitMs: 0, hostAfterMs: 0 };
  const keys0 = cache.length(ids[0]!) + 1; // keys the first timed step reads
  const gpuTimed = (o.gpuTime ?? false) && canTimeGpu(be);
  if (gpuTimed) be.startGpuTimer!();
  const ends: number[] = []; // when each step's result reached the host
  const t0 = performance.now();
  if (pipelined) await chain(steps, marks ? split : undefined, ends);
  else {
    for (let i = 0; i < steps; i++) {
      const s0 = performance.now();
      await step();
      ends.push(performance.now());
      if (!marks) continue;
      split.recordMs += (marks.submit - s0) / steps;
      split.gpuWaitMs += (marks.mapResolved - marks.submit) / steps;
      split.hostAfterMs += (performance.now() - marks.mapResolved) / steps;
    }
  }
  const stepMs = (performance.now() - t0) / steps;
  const gpu = gpuTimed ? await be.stopGpuTimer!() : null;
  const perStep =
    stats && before
      ? (Object.fromEntries(
          COUNTERS.map((k) => [k, (stats[k] - before[k]) / steps]),
        ) as unknown as StepCounts)
      : undefined;
  // after the counters: the profiled steps must not count in them
  const profiled = o.profile
    ? await profileSteps(
        be,
        async (n) => {
          if (pipelined) await chain(n);
          else for (let i = 0; i < n; i++) await step();
        },
        steps,
      )
    : null;
  fwd.dispose();
  cache.dispose();
  const bpe = bytesPerElement(o.kvDtype);
  const kvRow = 2 * cfg.nKvHeads * cfg.headDim * bpe; // K and V of one token in one cache layer
  const kvLayers = producers.filter((p, l) => p === l).length;
  const keys = keys0 + (steps - 1) / 2; // mean keys per timed step
  const kvReadBytes = B * keys * kvRow * cfg.nLayers;
  const bytesPerStep = r.model.layout.total * 4 + kvReadBytes + B * kvRow * kvLayers;
  const lead = { backend: be.name, device: be.info().device, config: cfg.name, batch: B, context: S };
  const profile: DecodeProfileRow | null = profiled
    ? { bench: "decode-profile", ...lead, steps, kvReadBytes, ...profiled }
    : null;
  const row: DecodeRow = {
    bench: "decode",
    backend: be.name,
    device: be.info().device,
    config: cfg.name,
    batch: B,
    context: S,
    kvDtype: o.kvDtype,
    steps,
    stepMs,
    tokensPerSecond: (B * 1e3) / stepMs,
    bytesPerStep,
    kvReadBytes,
    gbps: bytesPerStep / (stepMs / 1e3) / 1e9,
    copyGbps: copy.gbps,
    copyMethod: copy.method,
    readback: argmax ? "argmax" : "logits",
    pipelined,
    ...(perStep ? { perStep } : {}),
    ...(marks ? split : {}),
    ...(gpu && gpu.untimed === 0 ? { gpuMs: gpu.ms / steps } : {}),
    ...intervalStats(ends),
    ...(perStep && o.submitEvery !== undefined ? { submitEvery: o.submitEvery } : {}),
  };
  return { row, profile };
}

/** DecodeRow.stepMsMedian / stepMsMax from the times the steps' results arrived. */
export function intervalStats(ends: readonly number[]): { stepMsMedian?: number; stepMsMax?: number } {
  if (ends.length < 3) return {};
  const gaps = ends
    .slice(1)
    .map((t, i) => t - ends[i]!)
    .sort((a, b) => a - b);
  return { stepMsMedian: gaps[(gaps.length - 1) >> 1]!, stepMsMax: gaps[gaps.length - 1]! };
}

/** Copies run on the GPU before each decode row's warm-up (spinUp). */
const SPIN_SECONDS = 0.25;
/** Warm-up of each decode row: at least this long, at most WARMUP_MAX step calls. */
const WARMUP_SECONDS = 0.3;
const WARMUP_MAX = 64;

const COUNTERS = [
  "dispatches",
  "submits",
  "reads",
  "writes",
  "shadowCopies",
  "bindGroupsCreated",
  "replays",
] as const;

/** Whether the backend can time its GPU work (DecodeBenchOptions.gpuTime). */
export function canTimeGpu(be: Backend): boolean {
  return be.startGpuTimer !== undefined && be.info().features.includes("timestamp-query");
}

/** The webgpu runtime's live counters (duck-typed), or null on other backends. */
function runtimeStats(be: Backend): StepCounts | null {
  const rt = (be as unknown as { rt?: { stats?: Partial<StepCounts> } }).rt;
  const st = rt?.stats;
  return st && COUNTERS.every((k) => typeof st[k] === "number") ? (st as StepCounts) : null;
}

/** The webgpu runtime's submit / readback timestamps (duck-typed), or null on other backends. */
function runtimeMarks(be: Backend): { submit: number; mapResolved: number } | null {
  const m = (be as unknown as { rt?: { marks?: { submit?: unknown; mapResolved?: unknown } } }).rt?.marks;
  return m && typeof m.submit === "number" && typeof m.mapResolved === "number"
    ? (m as { submit: number; mapResolved: number })
    : null;
}

/** Runs every row; returns them (also streamed to onRow) with notes on skipped rows. */
export async function runDecodeBench(o: DecodeBenchOptions) {
  const be = await createBackend(o.backend, o.attentionMma ? { attentionMma: o.attentionMma } : {});
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const emit = (row: BenchRow) => {
    rows.push(row);
    o.onRow?.(row);
  };
  try {
    const rt = (be as unknown as { rt?: { submitEvery?: number; replayEnabled?: boolean } }).rt;
    if (o.submitEvery !== undefined && rt?.submitEvery !== undefined) rt.submitEvery = o.submitEvery;
    if (o.replay !== undefined && rt?.replayEnabled !== undefined) rt.replayEnabled = o.replay;
    const copy = await copyBandwidth(be);
    if (o.gpuTime && !canTimeGpu(be)) {
      notes.push(
        be.name === "cpu"
          ? "--gpu-time: the cpu backend runs no GPU work; no gpu ms column"
          : `--gpu-time: ${be.name} on ${be.info().device} cannot time GPU work (no timestamp-query); no gpu ms column`,
      );
    }
    if (o.profile && !canProfile(be)) {
      notes.push(
        `--profile: ${be.name} on ${be.info().device} cannot time kernels (no timestamp-query); no profile rows`,
      );
    }
    const maxContext = Math.max(
      ...o.contexts.map((c) => c + 2 * Math.max(o.warmup, WARMUP_MAX) + 2 * o.steps + 3),
      ...(o.engine
        ? o.contexts.flatMap((c) =>
            o.batches.map(
              (b) =>
                c +
                Math.max(o.steps, ENGINE_MIN_STEPS) +
                1 +
                engineExtraTokens(b, c, engineMaxBatchTokens(b)),
            ),
          )
        : []),
    );
    for (const name of o.configs) {
      const cfg: ModelConfig = { ...loadModelConfig(name), kvDtype: o.kvDtype, maxSeqLen: maxContext };
      const model = Model.create(be, cfg, { seed: 1 });
      try {
        for (const context of o.contexts) {
          const plan = planCapacity(cfg, { memoryBytes: o.memoryBytes, context, weightsDtype: "f32" });
          emit({
            bench: "decode-capacity",
            config: cfg.name,
            context,
            memoryBytes: o.memoryBytes,
            kvBytesPerToken: plan.kvBytesPerToken,
            maxBatch: plan.maxSequences,
          });
          for (const batch of o.batches) {
            const kv = batch * Math.ceil(context / o.blockSize) * o.blockSize * plan.kvBytesPerToken;
            if (kv > o.maxKvBytes) {
              notes.push(
                `skipped ${cfg.name} batch ${batch} x ${context}: KV ${formatBytes(kv)} > --max-kv ${formatBytes(o.maxKvBytes)}`,
              );
              continue;
            }
            const { row, profile } = await decodeRow(be, o, { cfg, model, batch, context }, copy);
            emit(row);
            if (profile) emit(profile);
            if (o.engine) {
              const steps = Math.max(o.steps, ENGINE_MIN_STEPS);
              collectGarbage(); // as for the step rows (heap.ts)
              emit(
                await engineDecodeRow(be, model, {
                  batch,
                  context,
                  steps,
                  kvDtype: o.kvDtype,
                  blockSize: o.blockSize,
                  ...(o.runAhead !== undefined ? { runAhead: o.runAhead } : {}),
                }),
              );
            }
          }
        }
      } finally {
        model.dispose();
      }
    }
    return {
      rows,
      notes,
      device: be.info().device,
      detail: be.info().detail,
      copyGbps: copy.gbps,
      copyMethod: copy.method,
    };
  } finally {
    be.dispose();
  }
}
