// The non-GEMM layer ops on the wasm kernels (cross entropy, SwiGLU, RMSNorm, RoPE, AdamW, sum of
// squares, add, scale), f32, split over the kernel threads. LayerOps validates first and calls these with
// the dims; an op that failed the start-up self-test is not routed here. The cross-entropy forward
// keeps each row's logsumexp in a work block tagged with the logits view and its buffer's write
// stamp (versions.ts): a backward on the same, unchanged logits reuses it (one exp per logit).
import type { AdamWOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { HeapStore } from "./store-heap.js";
import type { BufferVersions } from "./versions.js";
import type { WasmKernels } from "./wasm/index.js";
import type { WasmSupport } from "./wasm-selftest.js";
import type { Workspace } from "./workspace.js";

/** Largest rope table (positions x D/2 entries, cos and sin each) kept; beyond it: reference. */
const MAX_ROPE_ENTRIES = 1 << 21;

export class WasmLayerOps {
  /** What the lse block holds: "bufferId:offset:n:v:stamp" of the logits, or "" (nothing valid). */
  private lseTag = "";
  /** The rope tables' key "base:d" and how many positions they cover. */
  private ropeCache = { key: "", positions: 0 };

  constructor(
    private readonly kernels: WasmKernels,
    private readonly store: HeapStore,
    private readonly versions: BufferVersions,
    private readonly ws: Workspace,
    readonly support: WasmSupport,
  ) {}

  private ptr(t: Tensor): number {
    return this.store.bytePtr(t);
  }

  private tagOf(logits: Tensor, n: number, v: number): string {
    return `${logits.buffer.id}:${logits.offset}:${n}:${v}:${this.versions.of(logits.buffer)}`;
  }

  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor, dims: { n: number; v: number }): void {
    this.lseTag = "";
    const lse = this.ws.get("ce-lse", dims.n * 4);
    const io = { logits: this.ptr(logits), targets: this.ptr(targets), losses: this.ptr(losses), lse };
    this.kernels.crossEntropy({ ...io, ...dims });
    this.lseTag = this.tagOf(logits, dims.n, dims.v);
    // losses may share the logits' buffer: its write must invalidate what was just cached
    this.versions.bump(losses.buffer);
  }

  crossEntropyBackward(
    dLogits: Tensor,
    logits: Tensor,
    targets: Tensor,
    dims: { n: number; v: number; scale: number },
  ): void {
    const haveLse = this.lseTag !== "" && this.lseTag === this.tagOf(logits, dims.n, dims.v);
    const lse = haveLse ? this.ws.get("ce-lse", dims.n * 4) : 0;
    const io = { dLogits: this.ptr(dLogits), logits: this.ptr(logits), targets: this.ptr(targets) };
    this.kernels.crossEntropyBackward({ ...io, lse, haveLse, ...dims });
  }

  swiglu(out: Tensor, gu: Tensor, dims: { n: number; f: number }): void {
    this.kernels.swiglu({ out: this.ptr(out), gu: this.ptr(gu), ...dims });
  }

  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor, dims: { n: number; f: number }): void {
    this.kernels.swigluBackward({ dGu: this.ptr(dGu), dOut: this.ptr(dOut), gu: this.ptr(gu), ...dims });
  }

  rmsnorm(
    t: Record<"out" | "rstd" | "x" | "weight", Tensor>,
    dims: { n: number; c: number; eps: number },
  ): void {
    const p = { out: this.ptr(t.out), rstd: this.ptr(t.rstd), x: this.ptr(t.x), weight: this.ptr(t.weight) };
    this.kernels.rmsnorm({ ...p, ...dims });
  }

  rmsnormBackward(
    t: Record<"dx" | "dWeight" | "dOut" | "x" | "weight" | "rstd", Tensor>,
    dims: { n: number; c: number; accumulate: boolean },
  ): void {
    const partials = this.ws.get("norm-partials", this.kernels.rmsnormPartialsBytes(dims.n, dims.c));
    this.kernels.rmsnormBackward({
      dx: this.ptr(t.dx),
      dWeight: this.ptr(t.dWeight),
      dOut: this.ptr(t.dOut),
      x: this.ptr(t.x),
      weight: this.ptr(t.weight),
      rstd: this.ptr(t.rstd),
      partials,
      ...dims,
    });
  }

  /**
   * RoPE from cos/sin tables of every position in [0, max position]; false (nothing done) when a
   * position is negative or the table would be too large: the caller then uses the reference.
   */
  rope(
    out: Tensor,
    x: Tensor,
    positions: Tensor,
    dims: { n: number; heads: number; d: number; base: number; inverse: boolean },
  ): boolean {
    const { n, heads, d, base, inverse } = dims;
    const pos = this.store.ints(positions);
    let maxPos = 0;
    for (let r = 0; r < n; r++) {
      const p = pos.data[pos.off + r]!;
      if (p < 0) return false;
      if (p > maxPos) maxPos = p;
    }
    const half = d / 2;
    if ((maxPos + 1) * half > MAX_ROPE_ENTRIES) return false;
    const { cosT, sinT } = this.ropeTables(base, d, maxPos + 1);
    const io = { out: this.ptr(out), x: this.ptr(x), positions: this.ptr(positions), cosT, sinT };
    this.kernels.rope({ ...io, n, heads, d, inverse });
    return true;
  }

  /** cos/sin (P, D/2) tables for positions [0, count) at least: the reference's angles, in f64. */
  private ropeTables(base: number, d: number, count: number): { cosT: number; sinT: number } {
    const half = d / 2;
    const key = `${base}:${d}`;
    const have = this.ropeCache.key === key ? this.ropeCache.positions : 0;
    // grown geometrically (decode asks for one more position per step), within the size cap
    const cap = Math.floor(MAX_ROPE_ENTRIES / half); // >= count (checked by the caller)
    const positions = have >= count ? have : Math.max(count, Math.min(Math.max(2 * have, 64), cap));
    const bytes = positions * half * 4;
    const cosT = this.ws.get("rope-cos", bytes);
    const sinT = this.ws.get("rope-sin", bytes);
    if (have < count) {
      // rebuilt whole: a grown block lost its contents
      const f32 = this.store.heap.f32;
      const inv = Array.from({ length: half }, (_, i) => base ** ((-2 * i) / d));
      for (let p = 0; p < positions; p++) {
        for (let i = 0; i < half; i++) {
          const ang = p * inv[i]!;
          f32[cosT / 4 + p * half + i] = Math.cos(ang);
          f32[sinT / 4 + p * half + i] = Math.sin(ang);
        }
      }
      this.ropeCache = { key, positions };
    }
    return { cosT, sinT };
  }

  sumSquares(xs: readonly Tensor[], numel: (t: Tensor) => number): number {
    let total = 0;
    for (const x of xs) {
      const n = numel(x);
      if (n === 0) continue;
      const partials = this.ws.get("sumsq-partials", this.kernels.sumSquaresPartialsBytes(n));
      total += this.kernels.sumSquares({ x: this.ptr(x), n, partials });
    }
    return total;
  }

  add(out: Tensor, a: Tensor, b: Tensor, p: { n: number; alpha: number; beta: number }): void {
    this.kernels.add({ out: this.ptr(out), a: this.ptr(a), b: this.ptr(b), ...p });
  }

  scale(out: Tensor, x: Tensor, p: { n: number; alpha: number }): void {
    this.kernels.scale({ out: this.ptr(out), x: this.ptr(x), ...p });
  }

  adamw(
    t: Record<"param" | "grad" | "m" | "v", Tensor>,
    n: number,
    opts: AdamWOptions,
    gradMul: number,
  ): void {
    this.kernels.adamw({
      param: this.ptr(t.param),
      grad: this.ptr(t.grad),
      m: this.ptr(t.m),
      v: this.ptr(t.v),
      n,
      lr: opts.lr,
      beta1: opts.beta1,
      beta2: opts.beta2,
      eps: opts.eps,
      weightDecay: opts.weightDecay,
      step: opts.step,
      gradMul,
    });
  }

  dispose(): void {
    this.lseTag = "";
    this.ropeCache = { key: "", positions: 0 };
  }
}
