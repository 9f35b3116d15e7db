// The Backend contract: buffers, transfers, and the closed op list a Llama-style decoder with
// cross-layer K/V sharing needs, forward and backward. Backends know tensors, never models.
//
// Contract (every implementation, every op):
// - Ops are enqueued in call order and take effect in that order; `read` and `sync` wait for them.
// - Outputs are written in full (every element), unless an op says it accumulates (`+=`).
// - Compute is f32 (f64 in the reference backend). f16/bf16 tensors are storage only: ops that
//   accept them say so (matmul's `b`, embedding tables, attention K/V, `cast`), others need f32.
// - Shapes use the glossary: B batch, T time (queries), S key length, C d_model, H query heads,
//   Hkv K/V heads, D head dim, F ffn, V vocab, N rows (= B*T). All tensors contiguous row-major.
// - Ops validate shapes and throw ShapeError naming the argument; they never resize anything.
import type { DeviceBuffer, DType, Tensor } from "./tensor.js";

export type BackendName = "cpu" | "webgpu";

/** What `crosslayer doctor` prints about a backend. */
export interface BackendInfo {
  name: BackendName;
  /** Human name of the device: CPU model, or the GPU adapter's description. */
  device: string;
  /** e.g. "wasm-simd x2 threads", "vulkan", "opengles (llvmpipe)". */
  detail: string;
  features: string[];
  limits: Record<string, number>;
  /** WebGPU: large forward matmuls on f16 tensor cores (the backend's `tensorCores` option). */
  tensorCores?: boolean;
}

export interface MatmulOptions {
  /** `a` is stored (.., K, M) and used transposed. */
  transA?: boolean;
  /** `b` is stored (.., N, K) and used transposed (the nn.Linear weight layout). */
  transB?: boolean;
  /** out = alpha * op(a) @ op(b) (+ out if accumulate). Default alpha 1. */
  alpha?: number;
  accumulate?: boolean;
  /**
   * Keep f32 operands even where the backend has a lower-precision fast path (WebGPU tensor cores
   * round operands to f16). The backward pass sets it: gradients such as (p - y) / N of the loss
   * fall below f16's range (measured: a 30M model trained 300 steps reached val loss 7.55 with f16
   * backward matmuls against 5.90 in f32).
   */
  exact?: boolean;
}

export interface AttentionOptions {
  /** Softmax scale; default 1/sqrt(D). */
  scale?: number;
  /**
   * Causal masking. With T queries and S keys, query t sits at position t + (S - T) and sees
   * keys 0..t + (S - T): this covers training (S = T), prefill after a cache, and decode (T = 1).
   */
  causal?: boolean;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
  /** Gradients are multiplied by this before use (e.g. 1 / micro-batches). Default 1. */
  gradScale?: number;
  /**
   * Global-norm clipping without a host round-trip: `norm` is a (1) tensor written by
   * `sumSquares` + sqrt semantics (it holds the sum of squares); grads are scaled by
   * min(1, maxNorm / sqrt(norm)) on the device.
   */
  clip?: { sumSq: Tensor; maxNorm: number };
}

/** Per-step metadata of `pagedAttention` (i32 tensors on the backend, written by the host). */
export interface PagedAttentionMeta {
  /** (B, maxBlocksPerSeq) i32: the pool blocks of sequence b, in order; entries past its keys ignored. */
  blockTables: Tensor;
  /** (B) i32: keys of sequence b, cached + new (the new tokens' K/V already written by kvWrite). */
  seqLens: Tensor;
  /** (B + 1) i32: rows of sequence b in q / out are [queryStarts[b], queryStarts[b + 1]). */
  queryStarts: Tensor;
  /** Optional (N, H) f32 output: logsumexp of each row's scaled scores. */
  lse?: Tensor;
  /** Softmax scale; default 1/sqrt(D). */
  scale?: number;
  /** Default true: query i of sequence b sits at position seqLens[b] - qLen_b + i, sees keys <= it. */
  causal?: boolean;
}

/**
 * Optional fused kernels for the inference engine's small-batch decode step. Each returns false
 * (doing nothing) for shapes or dtypes it does not take; the caller then runs the equivalent
 * Backend ops. A backend without them simply does not implement `decodeKernels`.
 */
export interface DecodeKernels {
  /**
   * out (M, N) = x' (M, K) @ w (N, K)^T (or +=), where x' = x, rmsnorm(x) * norm.weight, or
   * silu(gate) * up for x = [gate | up] (M, 2K).
   */
  linear(
    io: { out: Tensor; x: Tensor; w: Tensor },
    opts: {
      accumulate?: boolean;
      norm?: { weight: Tensor; eps: number };
      swiglu?: boolean;
      /**
       * The fused q/k/v projection (needs `norm`, whose weight then holds q's K values at element
       * 0 and k's and v's at `gKv`, default K): w = [wq; wk; wv] (nq + 2 nkv, K); out = blocks
       * [q (M, nq) | k (M, nkv) | v (M, nkv)].
       */
      qkv?: { nq: number; nkv: number; gKv?: number };
    },
  ): boolean;
  /**
   * Optional: the fused q/k/v projection (as `linear` with `qkv`) whose k and v go straight into
   * the pools: out (M, nq) = q; kPool[slots] = rope(k, positions), vPool[slots] = v. w = [wq; wk;
   * wv] (nq + 2 nkv, K); norm weights g: q's at 0, k/v's at gKv; ps (2M) i32 = positions then
   * slots.
   */
  qkvAppend?(
    io: { out: Tensor; x: Tensor; w: Tensor; g: Tensor; kPool: Tensor; vPool: Tensor; ps: Tensor },
    opts: { nq: number; nkv: number; gKv: number; eps: number; ropeBase: number },
  ): boolean;
  /** kPool[slots] = rope(k, positions), vPool[slots] = v; k, v (N, Hkv, D). */
  kvAppend(
    io: { kPool: Tensor; vPool: Tensor; k: Tensor; v: Tensor; slots: Tensor; positions: Tensor },
    ropeBase: number,
  ): boolean;
  /** pagedAttention with RoPE applied to q (N, H, D) as it is read (positions in meta). */
  ropePagedAttention(
    io: { out: Tensor; q: Tensor; kPool: Tensor; vPool: Tensor },
    meta: PagedAttentionMeta,
    ropeBase: number,
  ): boolean;
  /** out (M) i32 = argmax of each logits row (M, V) f32; -1 for a row holding NaN or +Inf. */
  argmaxRows(out: Tensor, logits: Tensor): void;
}

export interface Backend {
  readonly name: BackendName;
  info(): BackendInfo;

  // ---- memory -------------------------------------------------------------------------------
  /** Allocates `size` elements of `dtype`, contents undefined. */
  createBuffer(size: number, dtype: DType, label?: string): DeviceBuffer;
  destroyBuffer(buffer: DeviceBuffer): void;
  /** Host -> device. f32 data is rounded to the tensor's dtype (f16/bf16: round to nearest even). */
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void;
  /** Device -> host, after all enqueued work. f16/bf16 come back widened to f32; i32 as Int32Array. */
  read(t: Tensor): Promise<Float32Array | Float64Array | Int32Array>;
  /** Waits for all enqueued work. */
  sync(): Promise<void>;
  /** Frees everything; the backend is unusable afterwards. */
  dispose(): void;

  // ---- elementwise --------------------------------------------------------------------------
  /** t[:] = value. Any float dtype or i32. */
  fill(t: Tensor, value: number): void;
  /** out = src converted to out's dtype (f32 <-> f16 <-> bf16); shapes must have equal numel. */
  cast(out: Tensor, src: Tensor): void;
  /** out = alpha * a + beta * b (defaults 1, 1). out may alias a or b. All f32. */
  add(out: Tensor, a: Tensor, b: Tensor, alpha?: number, beta?: number): void;
  /** out = alpha * x. out may alias x. */
  scale(out: Tensor, x: Tensor, alpha: number): void;

  // ---- linear algebra -----------------------------------------------------------------------
  /**
   * out (.., M, N) = op(a) (.., M, K) @ op(b) (.., K, N). Leading batch dims of `a` and `out`
   * must match; `b` is either batched the same way or 2-D (broadcast, e.g. a weight).
   * a: f32; b: f32, f16 or bf16; out: f32.
   */
  matmul(out: Tensor, a: Tensor, b: Tensor, opts?: MatmulOptions): void;

  // ---- embedding ----------------------------------------------------------------------------
  /** out (N, C) = table (V, C) [ids (N)]. table f32/f16/bf16; ids i32, each in [0, V). */
  embedding(out: Tensor, table: Tensor, ids: Tensor): void;
  /** dTable (V, C) += scatter of dOut (N, C) by ids (N). Deterministic. */
  embeddingBackward(dTable: Tensor, dOut: Tensor, ids: Tensor): void;

  // ---- normalisation ------------------------------------------------------------------------
  /** out (N, C) = x * rstd * weight; rstd (N) = 1 / sqrt(mean(x^2) + eps) is saved for backward. */
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void;
  /** dx (N, C) = (or += if accumulate) d/dx; dWeight (C) += d/dweight. */
  rmsnormBackward(
    dx: Tensor,
    dWeight: Tensor,
    dOut: Tensor,
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    accumulate?: boolean,
  ): void;

  // ---- position -----------------------------------------------------------------------------
  /**
   * Rotary embedding, HF Llama convention (pairs i and i + D/2, theta_i = base^(-2i/D)).
   * x, out: (N, Hx, D) with N = B*T rows; positions (N) i32. out may alias x.
   * inverse: rotate by -angle (this is the backward pass).
   */
  rope(out: Tensor, x: Tensor, positions: Tensor, base: number, inverse?: boolean): void;

  // ---- feed-forward -------------------------------------------------------------------------
  /** gu (N, 2F) = [gate | up]; out (N, F) = silu(gate) * up. */
  swiglu(out: Tensor, gu: Tensor): void;
  /** dGu (N, 2F) = d/d[gate | up] given dOut (N, F). Overwrites dGu. */
  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void;

  // ---- attention ----------------------------------------------------------------------------
  /**
   * Fused softmax attention. q (B, T, H, D); k, v (B, S, Hkv, D), f32/f16/bf16, Hkv divides H:
   * query head h reads K/V head floor(h / (H / Hkv)). k and v may be another layer's tensors
   * (cross-layer sharing): nothing is copied. out (B, T, H, D); lse (B, H, T) f32 logsumexp of
   * the scaled scores, saved for backward.
   */
  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): void;
  /**
   * dq (B, T, H, D) overwritten; dk, dv (B, S, Hkv, D) f32 overwritten, or accumulated when
   * accumulateKV (layers that share a producer's K/V add their gradients into the producer's).
   */
  attentionBackward(
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    dOut: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    out: Tensor,
    lse: Tensor,
    opts?: AttentionOptions & { accumulateKV?: boolean },
  ): void;

  // ---- paged KV cache (inference) -----------------------------------------------------------
  /**
   * Scatter into a paged K or V pool. pool (numBlocks, blockSize, Hkv, D) f32/f16/bf16, viewed as
   * rows (numBlocks * blockSize, Hkv, D): pool[slots[n]] = src[n] rounded to the pool's dtype.
   * src (N, Hkv, D) f32; slots (N) i32, distinct, slot = block * blockSize + offset; -1 = skip.
   * Slots outside the pool throw on the cpu backend and are skipped on webgpu (no host read-back).
   */
  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void;
  /**
   * Varlen attention over paged K/V: the new tokens of B sequences packed as N rows (prefill
   * chunks and decode tokens in one call). out, q (N, H, D) f32; kPool, vPool (numBlocks,
   * blockSize, Hkv, D) f32/f16/bf16, Hkv divides H: query head h reads K/V head floor(h / (H/Hkv)).
   * A sharing layer passes its producer's pools: nothing is copied. Every query sees >= 1 key.
   */
  pagedAttention(out: Tensor, q: Tensor, kPool: Tensor, vPool: Tensor, meta: PagedAttentionMeta): void;

  // ---- loss ---------------------------------------------------------------------------------
  /** losses (N) = logsumexp(logits[n]) - logits[n, targets[n]]; target -1 gives loss 0. */
  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void;
  /** dLogits (N, V) = scale * (softmax(logits) - onehot(targets)); rows with target -1 get 0. */
  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void;

  // ---- optimisation -------------------------------------------------------------------------
  /** out (1) = sum of squares of all elements of `xs` (overwrites). */
  sumSquares(out: Tensor, xs: readonly Tensor[]): void;
  /** One AdamW step (decoupled weight decay) on param/grad/m/v of equal numel, all f32. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void;

  // ---- optional accelerators ----------------------------------------------------------------
  /** Fused decode-step kernels, where this backend has them (see DecodeKernels). */
  decodeKernels?(): DecodeKernels;
  /**
   * Runs `ops` the first time `key` is seen and records the work they enqueue; later calls with
   * the same key enqueue that work again without running `ops` (webgpu: the dispatches are
   * re-issued from a tape, skipping the ops' host code). `ops` must enqueue work fully determined
   * by `key` (shapes, offsets and options; the tensors' contents may differ), do no host reads or
   * writes, and return the same value for the same key. Backends without it run `ops` each time.
   */
  replayable?<T>(key: string, ops: () => T, hints?: ReplayHints): T;
  /**
   * GPU profiling (webgpu with the timestamp-query feature): after `startProfiling()` every
   * dispatch is timed on the GPU; `resetProfiling()` drops what was timed so far (a warm-up);
   * `stopProfiling()` waits for the work and returns the time per kernel. Timed runs are a little
   * slower (one pass per dispatch): profile separately from speed measurements.
   */
  startProfiling?(): void;
  resetProfiling?(): Promise<void>;
  stopProfiling?(): Promise<KernelProfile>;
  /**
   * GPU busy time (webgpu with timestamp-query): after `startGpuTimer()` every compute pass is
   * timed whole (two timestamp writes per pass, the passes left as they are, so timed work runs as
   * untimed work does); `stopGpuTimer()` waits for the work and returns the sum.
   */
  startGpuTimer?(): void;
  stopGpuTimer?(): Promise<GpuTime>;
}

/** How a replayable run will be used (Backend.replayable). */
export interface ReplayHints {
  /**
   * Its replays are bound by the host's time rather than the GPU's (a batch-1 decode step): the
   * backend may spend a little GPU time to save host time (webgpu: each dispatch's params bound
   * statically, no dynamic offset: batch-1 steps 16-20% faster in three rows of four on the H100
   * machine, but 2-3% more GPU time in a 128-row step).
   */
  hostBound?: boolean;
}

/** GPU time of the compute passes timed between startGpuTimer and stopGpuTimer. */
export interface GpuTime {
  /** Sum of the passes' durations, milliseconds. */
  ms: number;
  passes: number;
  /** Passes left untimed (the timer's buffers were full). */
  untimed: number;
}

/** GPU time of one kernel label over a profiled run. */
export interface KernelTime {
  /** Kernel file, entry point and mode switches, e.g. `paged_gemv[NORM,QKV]`. */
  kernel: string;
  dispatches: number;
  /** Sum of the dispatches' GPU durations, milliseconds. */
  ms: number;
}

export interface KernelProfile {
  /** Largest total first. */
  kernels: KernelTime[];
  /** Dispatches left untimed (more than the profiler's capacity between two submits). */
  untimed: number;
}
