// The CPU backend's non-GEMM ops (embedding, rmsnorm, rope, swiglu, cross entropy, sumSquares,
// adamw): shape/dtype validation, then the wasm kernels (wasm-layer-ops.ts) for the ops that passed
// their self-test, else the reference kernels on the store's spans. The caller has already checked
// that every tensor is a live view of its buffers; this file never allocates.
import type { AdamWOptions } from "../backend.js";
import { adamwRef, clipFactor } from "../reference/adamw.js";
import { crossEntropyBackwardRef, crossEntropyRef } from "../reference/cross-entropy.js";
import { sumSquaresRef } from "../reference/elementwise.js";
import { embeddingBackwardRef, embeddingRef } from "../reference/embedding.js";
import type { IntSpan } from "../reference/types.js";
import { rmsnormBackwardRef, rmsnormRef } from "../reference/rmsnorm.js";
import { ropeRef } from "../reference/rope.js";
import { swigluBackwardRef, swigluRef } from "../reference/swiglu.js";
import {
  adamwNumel,
  checkSumSquares,
  crossEntropyBackwardDims,
  crossEntropyDims,
  embeddingBackwardDims,
  embeddingDims,
  rmsnormBackwardDims,
  rmsnormDims,
  ropeDims,
  swigluBackwardDims,
  swigluDims,
} from "../op-shapes.js";
import { expectDType, numel, type Tensor } from "../tensor.js";
import type { Store } from "./store.js";
import { checkIds } from "./validate.js";
import type { WasmLayerOps } from "./wasm-layer-ops.js";

export class LayerOps {
  constructor(
    private readonly store: Store,
    /** The wasm kernels (f32 heap store with kernels loaded), else null: reference kernels. */
    private readonly fast: WasmLayerOps | null = null,
  ) {}

  /** The ids of an i32 tensor after checking each lies in [lo, hi). */
  private ids(what: string, t: Tensor, range: { lo: number; hi: number }): IntSpan {
    expectDType(what, t, "i32");
    const span = this.store.ints(t);
    checkIds(what, t, span.data.subarray(span.off, span.off + numel(t.shape)), range);
    return span;
  }

  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    const { n, v, c } = embeddingDims(out, table, ids);
    const idSpan = this.ids("embedding ids", ids, { lo: 0, hi: v });
    if (table.dtype === "f32") {
      embeddingRef({ out: this.store.output(out), table: this.store.input(table), ids: idSpan, n, c });
      return;
    }
    // f16/bf16 table: widen only the rows used (the whole table can be large).
    for (let r = 0; r < n; r++) {
      const row = { ...table, offset: table.offset + idSpan.data[idSpan.off + r]! * c, shape: [c] };
      this.store.store({ ...out, offset: out.offset + r * c, shape: [c] }, this.store.input(row));
    }
  }

  embeddingBackward(dTable: Tensor, dOut: Tensor, ids: Tensor): void {
    const { n, v, c } = embeddingBackwardDims(dTable, dOut, ids);
    const idSpan = this.ids("embeddingBackward ids", ids, { lo: 0, hi: v });
    const s = this.store;
    embeddingBackwardRef({ dTable: s.output(dTable), dOut: s.input(dOut), ids: idSpan, n, c });
  }

  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    const { n, c } = rmsnormDims({ out, rstd, x, weight });
    if (this.fast?.support.rmsnorm) {
      this.fast.rmsnorm({ out, rstd, x, weight }, { n, c, eps });
      return;
    }
    const s = this.store;
    rmsnormRef({
      out: s.output(out),
      rstd: s.output(rstd),
      x: s.input(x),
      weight: s.input(weight),
      n,
      c,
      eps,
    });
  }

  rmsnormBackward(
    t: Record<"dx" | "dWeight" | "dOut" | "x" | "weight" | "rstd", Tensor>,
    accumulate: boolean,
  ): void {
    const { n, c } = rmsnormBackwardDims(t);
    if (this.fast?.support.rmsnorm) {
      this.fast.rmsnormBackward(t, { n, c, accumulate });
      return;
    }
    const s = this.store;
    rmsnormBackwardRef({
      dx: s.output(t.dx),
      dWeight: s.output(t.dWeight),
      dOut: s.input(t.dOut),
      x: s.input(t.x),
      weight: s.input(t.weight),
      rstd: s.input(t.rstd),
      n,
      c,
      accumulate,
    });
  }

  rope(out: Tensor, x: Tensor, positions: Tensor, opts: { base: number; inverse: boolean }): void {
    const { n, heads, d } = ropeDims(out, x, positions);
    if (this.fast?.support.rope && this.fast.rope(out, x, positions, { n, heads, d, ...opts })) return;
    const s = this.store;
    ropeRef({ out: s.output(out), x: s.input(x), positions: s.ints(positions), n, heads, d, ...opts });
  }

  swiglu(out: Tensor, gu: Tensor): void {
    const { n, f } = swigluDims(out, gu);
    if (this.fast?.support.swiglu) {
      this.fast.swiglu(out, gu, { n, f });
      return;
    }
    swigluRef({ out: this.store.output(out), gu: this.store.input(gu), n, f });
  }

  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void {
    const { n, f } = swigluBackwardDims(dGu, dOut, gu);
    if (this.fast?.support.swiglu) {
      this.fast.swigluBackward(dGu, dOut, gu, { n, f });
      return;
    }
    const s = this.store;
    swigluBackwardRef({ dGu: s.output(dGu), dOut: s.input(dOut), gu: s.input(gu), n, f });
  }

  /** The targets' values after checking each lies in [-1, V) (-1: an ignored row). */
  private targets(op: string, targets: Tensor, v: number): IntSpan {
    return this.ids(`${op} targets`, targets, { lo: -1, hi: v });
  }

  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void {
    const { n, v } = crossEntropyDims(losses, logits, targets);
    const dims = { n, v, targets: this.targets("crossEntropy", targets, v) };
    if (this.fast?.support.crossEntropy) {
      this.fast.crossEntropy(losses, logits, targets, { n: dims.n, v: dims.v });
      return;
    }
    crossEntropyRef({ losses: this.store.output(losses), logits: this.store.input(logits), ...dims });
  }

  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void {
    const { n, v } = crossEntropyBackwardDims(dLogits, logits, targets);
    const dims = { n, v, targets: this.targets("crossEntropyBackward", targets, v) };
    if (this.fast?.support.crossEntropy) {
      this.fast.crossEntropyBackward(dLogits, logits, targets, { n: dims.n, v: dims.v, scale });
      return;
    }
    const s = this.store;
    crossEntropyBackwardRef({ dLogits: s.output(dLogits), logits: s.input(logits), ...dims, scale });
  }

  sumSquares(out: Tensor, xs: readonly Tensor[]): void {
    checkSumSquares(out, xs);
    let total = 0;
    if (this.fast?.support.adamw) total = this.fast.sumSquares(xs, (x) => numel(x.shape));
    else for (const x of xs) total += sumSquaresRef(this.store.input(x), numel(x.shape));
    const o = this.store.output(out);
    o.data[o.off] = total;
  }

  adamw(t: Record<"param" | "grad" | "m" | "v", Tensor>, opts: AdamWOptions): void {
    const n = adamwNumel(t, opts);
    let gradMul = opts.gradScale ?? 1;
    if (opts.clip) {
      const ss = this.store.input(opts.clip.sumSq);
      gradMul *= clipFactor(ss.data[ss.off]!, opts.clip.maxNorm);
    }
    if (this.fast?.support.adamw) {
      this.fast.adamw(t, n, opts, gradMul);
      return;
    }
    const s = this.store;
    const spans = { param: s.output(t.param), grad: s.input(t.grad), m: s.output(t.m), v: s.output(t.v) };
    adamwRef({ ...opts, ...spans, n, gradMul });
  }
}
