// The CPU backend's fast kernels: WebAssembly SIMD (compiled from ./assembly, AssemblyScript)
// on a shared memory owned by the backend, run synchronously on a pool of worker threads.
// All tensor arguments are BYTE offsets into that memory, contiguous row-major, f32 except where
// a param says (matmul B, attention K/V: f16/bf16 widened on the fly); strides are in elements.
// Kernels only read/write the operands they are given and [0, reservedBytes).
import { BackendError } from "../../../errors.js";
import {
  COUNTER_OFFSET,
  reservedBytesFor,
  STATIC_LIMIT,
  scratchOffset,
  THREAD_SCRATCH_BYTES,
} from "./layout.js";
import { LAYER_FNS, type LayerKernels, makeLayerKernels } from "./layer-kernels.js";
import { kernelModule } from "./module.js";
import { KernelPool, type WorkerSpawner } from "./pool.js";

export type * from "./layer-kernels.js";
export { type KernelVariant, kernelModule, relaxedSimdSupported } from "./module.js";

/** Storage types the kernels widen to f32 on the fly (B of matmul, K/V of attention). */
export type WasmStorageType = "f32" | "f16" | "bf16";

const STORAGE_CODE: Record<WasmStorageType, number> = { f32: 0, f16: 1, bf16: 2 };

function storageCode(t: WasmStorageType | undefined): number {
  const code = STORAGE_CODE[t ?? "f32"];
  if (code === undefined)
    throw new BackendError(`storage type "${t}" is not supported: use f32, f16 or bf16`);
  return code;
}

/** C(batch; M, N) = alpha * op(A) @ op(B) (+ C if accumulate). */
export interface WasmMatmulParams {
  a: number;
  b: number;
  c: number;
  m: number;
  n: number;
  k: number;
  batch: number;
  /** Elements between consecutive batch entries of A, B, C; strideB 0 broadcasts B. */
  strideA: number;
  strideB: number;
  strideC: number;
  /** A stored (K, M). */
  transA: boolean;
  /** B stored (N, K). */
  transB: boolean;
  alpha: number;
  accumulate: boolean;
  /** B's storage (default f32; strideB and offsets then count its 2-byte elements). A, C: f32. */
  bType?: WasmStorageType;
}

/** Dimensions of one attention call (the Backend glossary). */
export interface WasmAttentionDims {
  batch: number;
  /** Queries T; query t sits at key position t + (S - T). */
  t: number;
  /** Keys S. */
  s: number;
  h: number;
  /** K/V heads; divides h. Query head h reads K/V head floor(h / (H / Hkv)). */
  hkv: number;
  d: number;
  scale: number;
  causal: boolean;
  /** K and V storage (default f32); q, out, lse and every gradient are f32. */
  kvType?: WasmStorageType;
}

/** Forward: q (B, T, H, D); k, v (B, S, Hkv, D) -> out (B, T, H, D), lse (B, H, T). Byte offsets. */
export interface WasmAttentionParams extends WasmAttentionDims {
  q: number;
  k: number;
  v: number;
  out: number;
  lse: number;
}

/**
 * Paged forward (the engine step): nSeq sequences whose query rows are packed in q / out (N, H, D)
 * (sequence b's rows from qStarts[b] to qStarts[b + 1]), each reading its seqLens[b] keys through
 * block-table row b of `tables` (nSeq, mb) i32 from the pools k, v (blocks, bs, Hkv, D); lse (N,
 * H). Byte offsets; `items` is a work area of 4 * (nSeq + 1) bytes. Metadata must be valid
 * (checked by the caller; queryStarts[0] = 0).
 */
export interface WasmPagedAttentionParams extends Omit<WasmAttentionDims, "batch" | "t" | "s"> {
  q: number;
  k: number;
  v: number;
  out: number;
  lse: number;
  tables: number;
  seqLens: number;
  qStarts: number;
  items: number;
  nSeq: number;
  mb: number;
  bs: number;
  /** Host copies of seqLens and qStarts (item counts and the threads' share). */
  hostSeqLens: ArrayLike<number>;
  hostQStarts: ArrayLike<number>;
  /** A work block of at least `bytes` bytes (byte offset) for key-split partials. */
  workspace(bytes: number): number;
}

/**
 * Backward: given dOut, q, k, v, out and lse of the forward, writes dq (B, T, H, D) (overwrite)
 * and dk, dv (B, S, Hkv, D) (overwrite, or += when accumulateKV). Byte offsets.
 */
export interface WasmAttentionBackwardParams extends WasmAttentionDims {
  dq: number;
  dk: number;
  dv: number;
  dOut: number;
  q: number;
  k: number;
  v: number;
  out: number;
  lse: number;
  accumulateKV: boolean;
  /**
   * Work space of attentionDqPartialsBytes(dims) bytes: the key items then also produce dq (P and
   * dS computed once) and a reduction adds their terms; 0 or absent: query items recompute them.
   * Results are the same either way.
   */
  dqPartials?: number;
}

export interface WasmKernels extends LayerKernels {
  readonly threads: number;
  /** Bytes at the start of the memory the kernels own; tensors go at or above it. */
  readonly reservedBytes: number;
  readonly features: string[];
  matmul(p: WasmMatmulParams): void;
  attention(p: WasmAttentionParams): void;
  pagedAttention(p: WasmPagedAttentionParams): void;
  attentionBackward(p: WasmAttentionBackwardParams): void;
  /** Bytes of the dq partials work space of attentionBackward for these dims. */
  attentionDqPartialsBytes(p: WasmAttentionDims): number;
  /** Stops the workers; the object is unusable afterwards. */
  dispose(): void;
}

export interface LoadWasmKernelsOptions {
  /** Shared memory (shared: true, maximum <= 65536 pages); grown to reservedBytes if smaller. */
  memory: WebAssembly.Memory;
  /** Threads including the caller; 1 runs inline without workers. */
  threads: number;
  /** Worker factory (default: node:worker_threads in Node, Web Workers elsewhere). */
  spawner?: WorkerSpawner;
}

/** Job exports, by the index the pool passes to workers. */
const FNS = [
  "matmulJob",
  "attentionJob",
  "attentionBackwardJob",
  "attentionDqReduceJob",
  ...LAYER_FNS,
  "pagedAttentionJob",
  "pagedCombineJob",
] as const;
const FN_MATMUL = 0;
const FN_ATTENTION = 1;
const FN_ATTENTION_BWD = 2;
const FN_DQ_REDUCE = 3;
const FN_PAGED = FNS.length - 2;
const FN_PAGED_COMBINE = FNS.length - 1;
/** Fewest keys per split when a paged step has fewer work items than threads. */
const PAGED_SPLIT_KEYS = 128;
/** Below this many flops a job runs on the calling thread alone (waking workers costs more). */
const PARALLEL_MIN_FLOPS = 1 << 18;

function checkMemory(memory: WebAssembly.Memory, reserved: number): void {
  const buf = memory.buffer as ArrayBuffer | SharedArrayBuffer;
  if (!(buf instanceof SharedArrayBuffer)) {
    throw new BackendError(
      "wasm kernels need a shared memory: create it with new WebAssembly.Memory({ initial, maximum, shared: true })",
    );
  }
  const have = (buf as SharedArrayBuffer).byteLength;
  if (have < reserved) memory.grow(Math.ceil((reserved - have) / 65536));
}

export async function loadWasmKernels(opts: LoadWasmKernelsOptions): Promise<WasmKernels> {
  const threads = Math.max(1, Math.floor(opts.threads));
  const reservedBytes = reservedBytesFor(threads);
  checkMemory(opts.memory, reservedBytes);
  const { module, variant } = await kernelModule();
  const instance = await WebAssembly.instantiate(module, { env: { memory: opts.memory } });
  const ex = instance.exports as Record<string, unknown>;
  const staticEnd = (ex.staticEnd as () => number)();
  if (staticEnd > STATIC_LIMIT)
    throw new BackendError(`wasm static data ends at ${staticEnd} > ${STATIC_LIMIT}`);
  const maxD = (ex.MAX_HEAD_DIM as WebAssembly.Global).value as number;
  const stackRows = (ex.ATTENTION_ROWS as WebAssembly.Global).value as number;
  const dqPartialsBytes = ex.attentionDqPartialsBytes as (...dims: number[]) => number;
  const needs = {
    matmul: (ex.MATMUL_SCRATCH as WebAssembly.Global).value as number,
    attention: (ex.attentionScratchBytes as (d: number) => number)(maxD),
    attentionBackward: (ex.attentionBackwardScratchBytes as (d: number) => number)(maxD),
  };
  for (const [op, need] of Object.entries(needs)) {
    if (need > THREAD_SCRATCH_BYTES) {
      throw new BackendError(
        `wasm ${op} needs ${need} scratch bytes > THREAD_SCRATCH_BYTES ${THREAD_SCRATCH_BYTES}`,
      );
    }
  }
  const pool = await KernelPool.create({
    module,
    memory: opts.memory,
    exports: instance.exports,
    threads,
    fns: FNS,
    scratchOf: scratchOffset,
    counter: COUNTER_OFFSET,
    ...(opts.spawner ? { spawner: opts.spawner } : {}),
  });
  const launch = (fn: number, args: number[], flops: number) => {
    const parallel = threads > 1 && flops >= PARALLEL_MIN_FLOPS;
    pool.run(fn, [...args, COUNTER_OFFSET, parallel ? threads : 1], parallel);
  };
  return {
    ...makeLayerKernels({
      launch,
      fn0: FN_DQ_REDUCE + 1,
      memory: opts.memory,
      exports: instance.exports,
    }),
    threads,
    reservedBytes,
    features: [
      "simd128",
      ...(variant === "relaxed-simd" ? ["relaxed-simd"] : []),
      "threads",
      "shared-memory",
      "f16-bf16-operands",
    ],
    matmul(p) {
      const flags =
        (p.transA ? 1 : 0) | (p.transB ? 2 : 0) | (p.accumulate ? 4 : 0) | (storageCode(p.bType) << 3);
      const args = [p.a, p.b, p.c, p.m, p.n, p.k, p.batch, p.strideA, p.strideB, p.strideC, flags, p.alpha];
      launch(FN_MATMUL, args, 2 * p.m * p.n * p.k * p.batch);
    },
    attention(p) {
      const args = [p.q, p.k, p.v, p.out, p.lse, ...dimArgs(p, maxD)];
      launch(FN_ATTENTION, args, attentionFlops(p));
    },
    pagedAttention(p) {
      const { nSeq, hostSeqLens: lens, hostQStarts: starts } = p;
      const g = p.h / p.hkv;
      const n = starts[nSeq]! - starts[0]!;
      let flops = 0;
      let whole = 0; // work items without key splits
      let longest = 0;
      for (let b = 0; b < nSeq; b++) {
        const t = starts[b + 1]! - starts[b]!;
        whole += p.hkv * Math.ceil((t * g) / stackRows);
        longest = Math.max(longest, lens[b]!);
        flops += attentionFlops({ ...p, batch: 1, t, s: lens[b]! });
      }
      // fewer items than threads (a one-sequence decode step): each item's keys split over the
      // threads, the partials merged after (flash-decoding)
      const parallel = threads > 1 && flops >= PARALLEL_MIN_FLOPS;
      const nSplit =
        parallel && whole < threads
          ? Math.max(1, Math.min(threads, Math.floor(longest / PAGED_SPLIT_KEYS)))
          : 1;
      const items = new Int32Array(opts.memory.buffer, p.items, nSeq + 1);
      items[0] = 0;
      for (let b = 0; b < nSeq; b++) {
        const t = starts[b + 1]! - starts[b]!;
        items[b + 1] = items[b]! + p.hkv * Math.ceil((t * g) / stackRows) * nSplit;
      }
      const partials = nSplit > 1 ? p.workspace(4 * n * p.h * nSplit * (p.d + 2)) : 0;
      const dims = dimArgs({ ...p, batch: 1, t: 1, s: 1 }, maxD).slice(3); // h hkv d scale causal kvType
      const head = [p.q, p.k, p.v, p.out, p.lse, p.tables, p.seqLens, p.qStarts, p.items, nSeq, p.mb, p.bs];
      launch(FN_PAGED, [...head, ...dims, partials, nSplit], flops);
      if (nSplit > 1)
        launch(FN_PAGED_COMBINE, [p.out, p.lse, partials, n, p.h, p.d, nSplit], n * p.h * p.d * nSplit);
    },
    attentionBackward(p) {
      const args = [
        p.dq,
        p.dk,
        p.dv,
        p.dOut,
        p.q,
        p.k,
        p.v,
        p.out,
        p.lse,
        ...dimArgs(p, maxD),
        p.accumulateKV ? 1 : 0,
        p.dqPartials ?? 0,
      ];
      launch(FN_ATTENTION_BWD, args, 2.5 * attentionFlops(p));
      if (p.dqPartials) {
        const dims = [p.batch, p.t, p.s, p.h, p.hkv, p.d, p.causal ? 1 : 0];
        launch(
          FN_DQ_REDUCE,
          [p.dq, p.dqPartials, ...dims],
          dqPartialsBytes(p.batch, p.t, p.s, p.h, p.hkv, p.d) / 4,
        );
      }
    },
    attentionDqPartialsBytes(p) {
      return dqPartialsBytes(p.batch, p.t, p.s, p.h, p.hkv, p.d);
    },
    dispose() {
      pool.dispose();
    },
  };
}

function dimArgs(p: WasmAttentionDims, maxD: number): number[] {
  if (p.h % p.hkv !== 0) throw new BackendError(`hkv ${p.hkv} does not divide h ${p.h}`);
  if (p.d > maxD) throw new BackendError(`head dim ${p.d} exceeds the wasm kernels' limit ${maxD}`);
  return [p.batch, p.t, p.s, p.h, p.hkv, p.d, p.scale, p.causal ? 1 : 0, storageCode(p.kvType)];
}

/** Multiply-add flops of QK^T and PV (the causal half counted as half). */
export function attentionFlops(p: WasmAttentionDims): number {
  const full = 4 * p.batch * p.h * p.t * p.s * p.d;
  return p.causal ? full / 2 : full;
}
