// The WebGPU Backend: validates arguments, marks op boundaries on the runtime and hands each op to
// its encoder in ops/*.ts (matmul.ts and attention.ts belong to the webgpu-kernels engineer).
// Ops only record dispatches; read()/sync() submit and wait. It holds no model knowledge.
import type {
  AdamWOptions,
  AttentionOptions,
  Backend,
  BackendInfo,
  DecodeKernels,
  GpuTime,
  KernelProfile,
  MatmulOptions,
  PagedAttentionMeta,
  ReplayHints,
} from "../backend.js";
import { BackendError } from "../../errors.js";
import type { AttentionMmaMode } from "../registry.js";
import type { DeviceBuffer, DType, Tensor } from "../tensor.js";
import type { GpuContext } from "./device.js";
import { encodeAttention, encodeAttentionBackward } from "./ops/attention.js";
import { encodeAdd, encodeCast, encodeFill, encodeScale } from "./ops/elementwise.js";
import { encodeEmbedding, encodeEmbeddingBackward } from "./ops/embedding.js";
import { encodeCrossEntropy, encodeCrossEntropyBackward } from "./ops/loss.js";
import { encodeRmsnorm, encodeRmsnormBackward } from "./ops/norm.js";
import { encodeAdamw, encodeSumSquares } from "./ops/optim.js";
import { encodeDecodeLinear } from "./ops/decode-linear.js";
import {
  encodeArgmaxRows,
  encodeKvAppend,
  encodeQkvAppend,
  encodeKvWrite,
  encodePagedAttention,
} from "./ops/paged.js";
import { encodeRope } from "./ops/rope.js";
import { encodeSwiglu, encodeSwigluBackward } from "./ops/swiglu.js";
import { missingTensorCoreFeatures } from "./ops/matmul.js";
import { encodeMatmul } from "./ops/matmul-schedule.js";
import { PassTimer } from "./pass-timer.js";
import { DispatchProfiler } from "./profiler.js";
import { Runtime } from "./runtime.js";
import { ReplayCache } from "./tape.js";
import { readTensor, writeTensor } from "./transfer.js";

export interface WebGpuOptions {
  /** f16 tensor-core matmuls for large shapes (operands rounded to f16, f32 accumulation); needs
   *  shader-f16 and subgroup matrices, else the constructor throws. Default false (f32). */
  tensorCores?: boolean;
  /** When pagedAttention runs its tensor-core kernel (default pagedTuning.mma, "faster"). */
  attentionMma?: AttentionMmaMode;
}

export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly rt: Runtime;
  private readonly tapes: ReplayCache;
  /** Set between startProfiling() and stopProfiling(). */
  private profiler: DispatchProfiler | null = null;
  /** Set between startGpuTimer() and stopGpuTimer(). */
  private gpuTimer: PassTimer | null = null;

  /** The opt-in f16 tensor-core matmul (WebGpuOptions.tensorCores). */
  readonly tensorCores: boolean;
  /** pagedAttention's tensor-core mode (WebGpuOptions.attentionMma), passed to every call. */
  private readonly pagedOpts: { mma?: AttentionMmaMode };

  constructor(
    private readonly ctx: GpuContext,
    opts: WebGpuOptions = {},
  ) {
    this.tensorCores = opts.tensorCores ?? false;
    this.pagedOpts = opts.attentionMma !== undefined ? { mma: opts.attentionMma } : {};
    if (this.tensorCores) {
      const missing = missingTensorCoreFeatures(ctx.features);
      if (missing.length > 0) {
        throw new BackendError(
          `tensor cores need ${missing.join(" and ")}, which ${ctx.deviceName} (${ctx.detail}) does not expose: drop --tensor-cores (f32 matmuls), or use a GPU that has them (e.g. NVIDIA through Vulkan)`,
        );
      }
    }
    this.rt = new Runtime(ctx);
    this.tapes = new ReplayCache(this.rt);
  }

  info(): BackendInfo {
    return {
      name: "webgpu",
      device: this.ctx.deviceName,
      detail: this.ctx.detail,
      features: [...this.ctx.features],
      limits: { ...this.ctx.limits },
      ...(this.tensorCores ? { tensorCores: true } : {}),
    };
  }

  createBuffer(size: number, dtype: DType, label?: string): DeviceBuffer {
    return this.rt.createBuffer(size, dtype, label);
  }
  destroyBuffer(buffer: DeviceBuffer): void {
    this.rt.destroyBuffer(buffer);
  }
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
    writeTensor(this.rt, t, data);
  }
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    return readTensor(this.rt, t);
  }
  sync(): Promise<void> {
    return this.rt.sync();
  }
  dispose(): void {
    this.tapes.clear();
    this.rt.dispose();
  }

  startProfiling(): void {
    if (this.profiler) return;
    if (this.gpuTimer) throw new BackendError("startProfiling() while the GPU timer runs: stop it first");
    this.profiler = new DispatchProfiler(this.rt.device, this.rt.features);
    this.rt.setTiming(this.profiler);
  }
  async resetProfiling(): Promise<void> {
    if (!this.profiler) return;
    await this.rt.sync();
    await this.profiler.settle();
    this.profiler.reset();
  }
  /** Submits, waits for the timings and stops profiling; GPU time per kernel, largest first. */
  async stopProfiling(): Promise<KernelProfile> {
    const prof = this.profiler;
    if (!prof) throw new BackendError("stopProfiling() without startProfiling()");
    await this.rt.sync();
    await prof.settle();
    this.rt.setTiming(null);
    this.profiler = null;
    prof.destroy();
    return { kernels: prof.table(), untimed: prof.dropped };
  }

  startGpuTimer(): void {
    if (this.gpuTimer) return;
    if (this.profiler)
      throw new BackendError(
        "startGpuTimer() while profiling: the profiler splits every dispatch into its own pass",
      );
    this.gpuTimer = new PassTimer(this.rt.device, this.rt.features);
    this.rt.setTiming(null, this.gpuTimer);
  }
  /** Submits, waits for the work and stops timing; the GPU time of the passes since the start. */
  async stopGpuTimer(): Promise<GpuTime> {
    const timer = this.gpuTimer;
    if (!timer) throw new BackendError("stopGpuTimer() without startGpuTimer()");
    this.gpuTimer = null;
    try {
      this.rt.setTiming(null); // submits the last timed passes
      await this.rt.sync();
      return await timer.read();
    } finally {
      timer.destroy();
    }
  }

  replayable<T>(key: string, ops: () => T, hints?: ReplayHints): T {
    return this.rt.replayEnabled ? this.tapes.run(key, ops, hints?.hostBound ?? false) : ops();
  }

  fill(t: Tensor, value: number): void {
    this.rt.beginOp();
    encodeFill(this.rt, t, value);
  }
  cast(out: Tensor, src: Tensor): void {
    this.rt.beginOp();
    encodeCast(this.rt, out, src);
  }
  add(out: Tensor, a: Tensor, b: Tensor, alpha = 1, beta = 1): void {
    this.rt.beginOp();
    encodeAdd(this.rt, out, a, b, alpha, beta);
  }
  scale(out: Tensor, x: Tensor, alpha: number): void {
    this.rt.beginOp();
    encodeScale(this.rt, out, x, alpha);
  }

  matmul(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
    this.rt.beginOp();
    encodeMatmul(this.rt, out, a, b, opts, this.tensorCores);
  }

  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    this.rt.beginOp();
    encodeEmbedding(this.rt, out, table, ids);
  }
  embeddingBackward(dTable: Tensor, dOut: Tensor, ids: Tensor): void {
    this.rt.beginOp();
    encodeEmbeddingBackward(this.rt, dTable, dOut, ids);
  }
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    this.rt.beginOp();
    encodeRmsnorm(this.rt, { out, rstd, x, weight }, eps);
  }
  rmsnormBackward(
    dx: Tensor,
    dWeight: Tensor,
    dOut: Tensor,
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    accumulate = false,
  ): void {
    this.rt.beginOp();
    encodeRmsnormBackward(this.rt, { dx, dWeight, dOut, x, weight, rstd }, accumulate);
  }
  rope(out: Tensor, x: Tensor, positions: Tensor, base: number, inverse = false): void {
    this.rt.beginOp();
    encodeRope(this.rt, { out, x, positions }, { base, inverse });
  }
  swiglu(out: Tensor, gu: Tensor): void {
    this.rt.beginOp();
    encodeSwiglu(this.rt, out, gu);
  }
  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void {
    this.rt.beginOp();
    encodeSwigluBackward(this.rt, dGu, dOut, gu);
  }

  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): void {
    this.rt.beginOp();
    encodeAttention(this.rt, { out, lse, q, k, v }, opts);
  }
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
    opts: AttentionOptions & { accumulateKV?: boolean } = {},
  ): void {
    this.rt.beginOp();
    encodeAttentionBackward(this.rt, { dq, dk, dv, dOut, q, k, v, out, lse }, opts);
  }

  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void {
    this.rt.beginOp();
    encodeKvWrite(this.rt, pool, src, slots);
  }
  pagedAttention(out: Tensor, q: Tensor, kPool: Tensor, vPool: Tensor, meta: PagedAttentionMeta): void {
    this.rt.beginOp();
    encodePagedAttention(this.rt, { out, q, kPool, vPool }, meta, this.pagedOpts);
  }

  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void {
    this.rt.beginOp();
    encodeCrossEntropy(this.rt, losses, logits, targets);
  }
  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void {
    this.rt.beginOp();
    encodeCrossEntropyBackward(this.rt, { dLogits, logits, targets }, scale);
  }
  sumSquares(out: Tensor, xs: readonly Tensor[]): void {
    this.rt.beginOp();
    encodeSumSquares(this.rt, out, xs);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
    this.rt.beginOp();
    encodeAdamw(this.rt, { param, grad, m, v }, opts);
  }

  decodeKernels(): DecodeKernels {
    const rt = this.rt;
    return {
      linear: (io, opts) => encodeDecodeLinear(rt, io, opts),
      qkvAppend: (io, opts) => encodeQkvAppend(rt, io, opts),
      kvAppend: (io, ropeBase) => encodeKvAppend(rt, io, ropeBase),
      ropePagedAttention: (io, meta, ropeBase) => {
        rt.beginOp();
        return encodePagedAttention(rt, io, meta, { ...this.pagedOpts, ropeBase });
      },
      argmaxRows: (out, logits) => encodeArgmaxRows(rt, out, logits),
    };
  }
}
