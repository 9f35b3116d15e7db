// The CPU Backend: validates every op, then runs it on the TypeScript reference kernels (f64 oracle
// or f32 storage) or, for matmul in f32 with the kernels loaded, on the WebAssembly SIMD kernels.
// Ops run synchronously in call order, so `read`/`sync` have nothing to wait for.
import { BackendError, ShapeError } from "../../errors.js";
import type { AdamWOptions, AttentionOptions, Backend, BackendInfo, MatmulOptions } from "../backend.js";
import { adamwRef, clipFactor } from "../reference/adamw.js";
import { attentionRef } from "../reference/attention.js";
import { attentionBackwardRef } from "../reference/attention-backward.js";
import { crossEntropyBackwardRef, crossEntropyRef } from "../reference/cross-entropy.js";
import { addRef, scaleRef, sumSquaresRef } from "../reference/elementwise.js";
import { embeddingBackwardRef, embeddingRef } from "../reference/embedding.js";
import { matmulRef } from "../reference/matmul.js";
import { rmsnormBackwardRef, rmsnormRef } from "../reference/rmsnorm.js";
import { ropeRef } from "../reference/rope.js";
import { swigluBackwardRef, swigluRef } from "../reference/swiglu.js";
import {
  type DeviceBuffer,
  type DType,
  DTYPES,
  expectDType,
  expectShape,
  numel,
  type Tensor,
} from "../tensor.js";
import { HeapStore } from "./store-heap.js";
import { checkTensor, type Store } from "./store.js";
import { checkAttention, checkIds, checkMatmul, expectNumel, rowsOf } from "./validate.js";
import { type WasmKernels, WasmOps } from "./wasm-bridge.js";
import type { WasmSupport } from "./wasm-selftest.js";

export interface CpuBackendParts {
  store: Store;
  kernels: WasmKernels | null;
  support: WasmSupport;
  info: BackendInfo;
}

export class CpuBackend implements Backend {
  readonly name = "cpu";
  private readonly buffers = new Map<number, DeviceBuffer>();
  private nextId = 1;
  private disposed = false;
  private readonly store: Store;
  /** The wasm hot ops (f32 precision with the kernels loaded), else null: reference kernels. */
  private readonly wasm: WasmOps | null;

  constructor(private readonly parts: CpuBackendParts) {
    this.store = parts.store;
    this.wasm =
      parts.kernels && parts.store instanceof HeapStore
        ? new WasmOps(parts.kernels, parts.store, parts.support)
        : null;
  }

  info(): BackendInfo {
    return structuredClone(this.parts.info);
  }

  // ---- memory -------------------------------------------------------------------------------
  createBuffer(size: number, dtype: DType, label = ""): DeviceBuffer {
    this.alive();
    if (!Number.isInteger(size) || size < 0)
      throw new ShapeError(`createBuffer: size ${size} must be an integer >= 0`);
    if (!DTYPES.includes(dtype))
      throw new ShapeError(`createBuffer: unknown dtype "${dtype}": use ${DTYPES}`);
    const buffer: DeviceBuffer = {
      id: this.nextId++,
      size,
      dtype,
      label: label || `buffer${this.nextId - 1}`,
    };
    this.store.allocate(buffer);
    this.buffers.set(buffer.id, buffer);
    return buffer;
  }
  destroyBuffer(buffer: DeviceBuffer): void {
    if (this.buffers.get(buffer.id) !== buffer) return;
    this.buffers.delete(buffer.id);
    this.store.release(buffer);
  }
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
    this.check("write", t);
    this.store.write(t, data);
  }
  async read(t: Tensor): Promise<Float32Array | Float64Array | Int32Array> {
    this.check("read", t);
    return this.store.read(t);
  }
  async sync(): Promise<void> {
    this.alive();
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.store.dispose();
    this.buffers.clear();
    this.parts.kernels?.dispose();
  }

  // ---- elementwise --------------------------------------------------------------------------
  fill(t: Tensor, value: number): void {
    this.check("fill", t);
    this.store.fill(t, value);
  }
  cast(out: Tensor, src: Tensor): void {
    this.check("cast out", out);
    this.check("cast src", src);
    expectDType("cast out", out, "f32", "f16", "bf16");
    expectDType("cast src", src, "f32", "f16", "bf16");
    expectNumel("cast out", out, numel(src.shape), ` (src is [${src.shape}])`);
    this.store.store(out, this.store.input(src));
  }
  add(out: Tensor, a: Tensor, b: Tensor, alpha = 1, beta = 1): void {
    this.checkF32("add", { out, a, b });
    const n = numel(out.shape);
    expectNumel("add a", a, n, ` like out [${out.shape}]`);
    expectNumel("add b", b, n, ` like out [${out.shape}]`);
    addRef(this.store.output(out), this.store.input(a), this.store.input(b), { n, alpha, beta });
  }
  scale(out: Tensor, x: Tensor, alpha: number): void {
    this.checkF32("scale", { out, x });
    const n = numel(out.shape);
    expectNumel("scale x", x, n, ` like out [${out.shape}]`);
    scaleRef(this.store.output(out), this.store.input(x), n, alpha);
  }

  // ---- linear algebra -----------------------------------------------------------------------
  matmul(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
    this.checkAll("matmul", { out, a, b });
    const dims = checkMatmul(out, a, b, opts);
    if (dims.batch * dims.m * dims.n === 0) return;
    if (this.wasm?.support.matmul) {
      this.wasm.matmul(out, a, b, dims);
      return;
    }
    matmulRef({ ...dims, out: this.store.output(out), a: this.store.input(a), b: this.store.input(b) });
  }

  // ---- embedding ----------------------------------------------------------------------------
  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    this.checkAll("embedding", { out, table, ids });
    const { n: v, c } = rowsOf("embedding table", table);
    expectShape("embedding table", table, [v, c]);
    expectDType("embedding table", table, "f32", "f16", "bf16");
    expectDType("embedding out", out, "f32");
    const n = numel(ids.shape);
    expectShape("embedding out", out, [n, c]);
    const idSpan = this.ids("embedding ids", ids, { lo: 0, hi: v });
    embeddingRef({ out: this.store.output(out), table: this.store.input(table), ids: idSpan, n, c });
  }
  embeddingBackward(dTable: Tensor, dOut: Tensor, ids: Tensor): void {
    this.checkF32("embeddingBackward", { dTable, dOut });
    this.check("embeddingBackward ids", ids);
    const { n: v, c } = rowsOf("embeddingBackward dTable", dTable);
    const n = numel(ids.shape);
    expectShape("embeddingBackward dOut", dOut, [n, c]);
    const idSpan = this.ids("embeddingBackward ids", ids, { lo: 0, hi: v });
    embeddingBackwardRef({
      dTable: this.store.output(dTable),
      dOut: this.store.input(dOut),
      ids: idSpan,
      n,
      c,
    });
  }

  // ---- normalisation ------------------------------------------------------------------------
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    this.checkF32("rmsnorm", { out, rstd, x, weight });
    const { n, c } = rowsOf("rmsnorm x", x);
    expectShape("rmsnorm out", out, x.shape);
    expectShape("rmsnorm weight", weight, [c]);
    expectNumel("rmsnorm rstd", rstd, n, " (one per row of x)");
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
    dx: Tensor,
    dWeight: Tensor,
    dOut: Tensor,
    x: Tensor,
    weight: Tensor,
    rstd: Tensor,
    accumulate = false,
  ): void {
    this.checkF32("rmsnormBackward", { dx, dWeight, dOut, x, weight, rstd });
    const { n, c } = rowsOf("rmsnormBackward x", x);
    expectShape("rmsnormBackward dx", dx, x.shape);
    expectShape("rmsnormBackward dOut", dOut, x.shape);
    expectShape("rmsnormBackward weight", weight, [c]);
    expectShape("rmsnormBackward dWeight", dWeight, [c]);
    expectNumel("rmsnormBackward rstd", rstd, n, " (one per row of x)");
    const s = this.store;
    rmsnormBackwardRef({
      dx: s.output(dx),
      dWeight: s.output(dWeight),
      dOut: s.input(dOut),
      x: s.input(x),
      weight: s.input(weight),
      rstd: s.input(rstd),
      n,
      c,
      accumulate,
    });
  }

  // ---- position -----------------------------------------------------------------------------
  rope(out: Tensor, x: Tensor, positions: Tensor, base: number, inverse = false): void {
    this.checkF32("rope", { out, x });
    this.check("rope positions", positions);
    if (x.shape.length < 3) throw new ShapeError(`rope x must be (N, Hx, D), got [${x.shape}]`);
    const d = x.shape[x.shape.length - 1]!;
    const heads = x.shape[x.shape.length - 2]!;
    if (d % 2 !== 0) throw new ShapeError(`rope head dim D=${d} (x [${x.shape}]) must be even`);
    expectShape("rope out", out, x.shape);
    const n = numel(x.shape.slice(0, -2));
    expectDType("rope positions", positions, "i32");
    expectNumel("rope positions", positions, n, " (one per row of x)");
    const s = this.store;
    ropeRef({ out: s.output(out), x: s.input(x), positions: s.ints(positions), n, heads, d, base, inverse });
  }

  // ---- feed-forward -------------------------------------------------------------------------
  swiglu(out: Tensor, gu: Tensor): void {
    this.checkF32("swiglu", { out, gu });
    const { n, f } = this.swigluDims("swiglu", out, gu);
    swigluRef({ out: this.store.output(out), gu: this.store.input(gu), n, f });
  }
  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void {
    this.checkF32("swigluBackward", { dGu, dOut, gu });
    const { n, f } = this.swigluDims("swigluBackward", dOut, gu);
    expectShape("swigluBackward dGu", dGu, gu.shape);
    swigluBackwardRef({
      dGu: this.store.output(dGu),
      dOut: this.store.input(dOut),
      gu: this.store.input(gu),
      n,
      f,
    });
  }
  private swigluDims(op: string, out: Tensor, gu: Tensor): { n: number; f: number } {
    const { n, c } = rowsOf(`${op} gu`, gu);
    if (c % 2 !== 0) throw new ShapeError(`${op} gu last dim ${c} must be even ([gate | up], 2F)`);
    expectShape(`${op} ${op === "swiglu" ? "out" : "dOut"}`, out, [...gu.shape.slice(0, -1), c / 2]);
    return { n, f: c / 2 };
  }

  // ---- attention ----------------------------------------------------------------------------
  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): void {
    this.checkAll("attention", { out, lse, q, k, v });
    const dims = checkAttention(q, k, v, lse, opts);
    expectShape("attention out", out, q.shape);
    expectDType("attention out", out, "f32");
    if (dims.b * dims.h * dims.t === 0) return;
    if (this.wasm?.support.attention) {
      this.wasm.attention({ out, lse, q, k, v }, dims);
      return;
    }
    const s = this.store;
    attentionRef({
      out: s.output(out),
      lse: s.output(lse),
      q: s.input(q),
      k: s.input(k),
      v: s.input(v),
      dims,
    });
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
    this.checkAll("attentionBackward", { dq, dk, dv, dOut, q, k, v, out, lse });
    const dims = checkAttention(q, k, v, lse, opts);
    for (const [name, t, like] of [
      ["dq", dq, q],
      ["dOut", dOut, q],
      ["out", out, q],
      ["dk", dk, k],
      ["dv", dv, k],
    ] as const) {
      expectShape(`attentionBackward ${name}`, t, like.shape);
      expectDType(`attentionBackward ${name}`, t, "f32");
    }
    const accumulateKV = opts.accumulateKV ?? false;
    if (this.wasm?.support.attentionBackward) {
      this.wasm.attentionBackward({ dq, dk, dv, dOut, q, k, v, out, lse }, dims, accumulateKV);
      return;
    }
    const s = this.store;
    attentionBackwardRef({
      dq: s.output(dq),
      dk: s.output(dk),
      dv: s.output(dv),
      dOut: s.input(dOut),
      q: s.input(q),
      k: s.input(k),
      v: s.input(v),
      out: s.input(out),
      lse: s.input(lse),
      dims,
      accumulateKV,
    });
  }

  // ---- loss ---------------------------------------------------------------------------------
  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void {
    this.checkF32("crossEntropy", { losses, logits });
    const { n, v, ids } = this.lossDims("crossEntropy", logits, targets);
    expectNumel("crossEntropy losses", losses, n, " (one per row of logits)");
    crossEntropyRef({
      losses: this.store.output(losses),
      logits: this.store.input(logits),
      targets: ids,
      n,
      v,
    });
  }
  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void {
    this.checkF32("crossEntropyBackward", { dLogits, logits });
    const { n, v, ids } = this.lossDims("crossEntropyBackward", logits, targets);
    expectShape("crossEntropyBackward dLogits", dLogits, logits.shape);
    const s = this.store;
    crossEntropyBackwardRef({
      dLogits: s.output(dLogits),
      logits: s.input(logits),
      targets: ids,
      n,
      v,
      scale,
    });
  }
  private lossDims(op: string, logits: Tensor, targets: Tensor) {
    this.check(`${op} targets`, targets);
    const { n, c: v } = rowsOf(`${op} logits`, logits);
    expectNumel(`${op} targets`, targets, n, " (one per row of logits)");
    return { n, v, ids: this.ids(`${op} targets`, targets, { lo: -1, hi: v }) };
  }

  // ---- optimisation -------------------------------------------------------------------------
  sumSquares(out: Tensor, xs: readonly Tensor[]): void {
    this.checkF32("sumSquares", { out });
    expectNumel("sumSquares out", out, 1);
    let total = 0;
    xs.forEach((x, i) => {
      this.checkF32("sumSquares", { [`xs[${i}]`]: x });
      total += sumSquaresRef(this.store.input(x), numel(x.shape));
    });
    const o = this.store.output(out);
    o.data[o.off] = total;
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
    this.checkF32("adamw", { param, grad, m, v });
    const n = numel(param.shape);
    for (const [name, t] of [
      ["grad", grad],
      ["m", m],
      ["v", v],
    ] as const) {
      expectNumel(`adamw ${name}`, t, n, ` like param [${param.shape}]`);
    }
    let gradMul = opts.gradScale ?? 1;
    if (opts.clip) {
      this.checkF32("adamw", { "clip.sumSq": opts.clip.sumSq });
      expectNumel("adamw clip.sumSq", opts.clip.sumSq, 1);
      const ss = this.store.input(opts.clip.sumSq);
      gradMul *= clipFactor(ss.data[ss.off]!, opts.clip.maxNorm);
    }
    const s = this.store;
    adamwRef({
      ...opts,
      param: s.output(param),
      grad: s.input(grad),
      m: s.output(m),
      v: s.output(v),
      n,
      gradMul,
    });
  }

  // ---- helpers ------------------------------------------------------------------------------
  private alive(): void {
    if (this.disposed) throw new BackendError("the cpu backend was disposed: create a new one");
  }
  private check(what: string, t: Tensor): void {
    this.alive();
    checkTensor(what, t, (b) => this.buffers.get(b.id) === b);
  }
  private checkAll(op: string, ts: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries(ts)) this.check(`${op} ${name}`, t);
  }
  private checkF32(op: string, ts: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries(ts)) {
      this.check(`${op} ${name}`, t);
      expectDType(`${op} ${name}`, t, "f32");
    }
  }
  private ids(what: string, t: Tensor, range: { lo: number; hi: number }) {
    this.check(what, t);
    expectDType(what, t, "i32");
    const span = this.store.ints(t);
    checkIds(what, t, span.data.subarray(span.off, span.off + numel(t.shape)), range);
    return span;
  }
}
