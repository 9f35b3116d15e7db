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
import { expectDType, expectShape, numel, type Tensor } from "../tensor.js";
import { ShapeError } from "../../errors.js";
import type { Store } from "./store.js";
import { checkIds, expectNumel, rowsOf } from "./validate.js";
import type { WasmLayerOps } from "./wasm-layer-ops.js";

function expectF32(op: string, ts: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(ts)) expectDType(`${op} ${name}`, t, "f32");
}

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
    if (table.shape.length !== 2)
      throw new ShapeError(`embedding table must be (V, C), got [${table.shape}]`);
    const [v, c] = table.shape as [number, number];
    expectDType("embedding table", table, "f32", "f16", "bf16");
    expectDType("embedding out", out, "f32");
    const n = numel(ids.shape);
    expectShape("embedding out", out, [n, c]);
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
    expectF32("embeddingBackward", { dTable, dOut });
    if (dTable.shape.length !== 2)
      throw new ShapeError(`embeddingBackward dTable must be (V, C), got [${dTable.shape}]`);
    const [v, c] = dTable.shape as [number, number];
    const n = numel(ids.shape);
    expectShape("embeddingBackward dOut", dOut, [n, c]);
    const idSpan = this.ids("embeddingBackward ids", ids, { lo: 0, hi: v });
    const s = this.store;
    embeddingBackwardRef({ dTable: s.output(dTable), dOut: s.input(dOut), ids: idSpan, n, c });
  }

  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    expectF32("rmsnorm", { out, rstd, x, weight });
    const { n, c } = rowsOf("rmsnorm x", x);
    expectShape("rmsnorm out", out, x.shape);
    expectShape("rmsnorm weight", weight, [c]);
    expectNumel("rmsnorm rstd", rstd, n, " (one per row of x)");
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
    expectF32("rmsnormBackward", t);
    const { n, c } = rowsOf("rmsnormBackward x", t.x);
    expectShape("rmsnormBackward dx", t.dx, t.x.shape);
    expectShape("rmsnormBackward dOut", t.dOut, t.x.shape);
    expectShape("rmsnormBackward weight", t.weight, [c]);
    expectShape("rmsnormBackward dWeight", t.dWeight, [c]);
    expectNumel("rmsnormBackward rstd", t.rstd, n, " (one per row of x)");
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
    expectF32("rope", { out, x });
    if (x.shape.length < 3) throw new ShapeError(`rope x must be (N, Hx, D), got [${x.shape}]`);
    const d = x.shape[x.shape.length - 1]!;
    const heads = x.shape[x.shape.length - 2]!;
    if (d % 2 !== 0) throw new ShapeError(`rope head dim D=${d} (x [${x.shape}]) must be even`);
    expectShape("rope out", out, x.shape);
    const n = numel(x.shape.slice(0, -2));
    expectDType("rope positions", positions, "i32");
    expectNumel("rope positions", positions, n, " (one per row of x)");
    if (this.fast?.support.rope && this.fast.rope(out, x, positions, { n, heads, d, ...opts })) return;
    const s = this.store;
    ropeRef({ out: s.output(out), x: s.input(x), positions: s.ints(positions), n, heads, d, ...opts });
  }

  private swigluDims(op: string, out: Tensor, gu: Tensor): { n: number; f: number } {
    const { n, c } = rowsOf(`${op} gu`, gu);
    if (c % 2 !== 0) throw new ShapeError(`${op} gu last dim ${c} must be even ([gate | up], 2F)`);
    expectShape(`${op} ${op === "swiglu" ? "out" : "dOut"}`, out, [...gu.shape.slice(0, -1), c / 2]);
    return { n, f: c / 2 };
  }

  swiglu(out: Tensor, gu: Tensor): void {
    expectF32("swiglu", { out, gu });
    const { n, f } = this.swigluDims("swiglu", out, gu);
    if (this.fast?.support.swiglu) {
      this.fast.swiglu(out, gu, { n, f });
      return;
    }
    swigluRef({ out: this.store.output(out), gu: this.store.input(gu), n, f });
  }

  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void {
    expectF32("swigluBackward", { dGu, dOut, gu });
    const { n, f } = this.swigluDims("swigluBackward", dOut, gu);
    expectShape("swigluBackward dGu", dGu, gu.shape);
    if (this.fast?.support.swiglu) {
      this.fast.swigluBackward(dGu, dOut, gu, { n, f });
      return;
    }
    const s = this.store;
    swigluBackwardRef({ dGu: s.output(dGu), dOut: s.input(dOut), gu: s.input(gu), n, f });
  }

  private lossDims(op: string, logits: Tensor, targets: Tensor) {
    const { n, c: v } = rowsOf(`${op} logits`, logits);
    expectNumel(`${op} targets`, targets, n, " (one per row of logits)");
    return { n, v, targets: this.ids(`${op} targets`, targets, { lo: -1, hi: v }) };
  }

  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void {
    expectF32("crossEntropy", { losses, logits });
    const dims = this.lossDims("crossEntropy", logits, targets);
    expectNumel("crossEntropy losses", losses, dims.n, " (one per row of logits)");
    if (this.fast?.support.crossEntropy) {
      this.fast.crossEntropy(losses, logits, targets, { n: dims.n, v: dims.v });
      return;
    }
    crossEntropyRef({ losses: this.store.output(losses), logits: this.store.input(logits), ...dims });
  }

  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void {
    expectF32("crossEntropyBackward", { dLogits, logits });
    const dims = this.lossDims("crossEntropyBackward", logits, targets);
    expectShape("crossEntropyBackward dLogits", dLogits, logits.shape);
    if (this.fast?.support.crossEntropy) {
      this.fast.crossEntropyBackward(dLogits, logits, targets, { n: dims.n, v: dims.v, scale });
      return;
    }
    const s = this.store;
    crossEntropyBackwardRef({ dLogits: s.output(dLogits), logits: s.input(logits), ...dims, scale });
  }

  sumSquares(out: Tensor, xs: readonly Tensor[]): void {
    expectF32("sumSquares", { out });
    expectNumel("sumSquares out", out, 1);
    xs.forEach((x, i) => {
      expectDType(`sumSquares xs[${i}]`, x, "f32");
    });
    let total = 0;
    if (this.fast?.support.adamw) total = this.fast.sumSquares(xs, (x) => numel(x.shape));
    else for (const x of xs) total += sumSquaresRef(this.store.input(x), numel(x.shape));
    const o = this.store.output(out);
    o.data[o.off] = total;
  }

  adamw(t: Record<"param" | "grad" | "m" | "v", Tensor>, opts: AdamWOptions): void {
    expectF32("adamw", t);
    const n = numel(t.param.shape);
    for (const name of ["grad", "m", "v"] as const) {
      expectNumel(`adamw ${name}`, t[name], n, ` like param [${t.param.shape}]`);
    }
    let gradMul = opts.gradScale ?? 1;
    if (opts.clip) {
      expectDType("adamw clip.sumSq", opts.clip.sumSq, "f32");
      expectNumel("adamw clip.sumSq", opts.clip.sumSq, 1);
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
