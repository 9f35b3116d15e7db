// The CPU Backend: buffers, transfers, elementwise ops and the hot ops (matmul, attention). add,
// scale, matmul and attention run on the WebAssembly SIMD kernels in f32 when they load and pass
// their self-test, else on the TypeScript reference kernels; the other ops live in layer-ops.ts.
// Ops run synchronously in call order, so `read`/`sync` have nothing to wait for.
import { BackendError, ShapeError } from "../../errors.js";
import type {
  AdamWOptions,
  AttentionOptions,
  Backend,
  BackendInfo,
  MatmulOptions,
  PagedAttentionMeta,
} from "../backend.js";
import { attentionRef } from "../reference/attention.js";
import { attentionBackwardRef } from "../reference/attention-backward.js";
import { addRef, scaleRef } from "../reference/elementwise.js";
import { matmulRef } from "../reference/matmul.js";
import { expectNumel, matmulDims } from "../op-shapes.js";
import { attentionBackwardDims, attentionForwardDims } from "../op-shapes-attention.js";
import {
  type DeviceBuffer,
  type DType,
  DTYPES,
  expectDType,
  expectShape,
  numel,
  type Tensor,
} from "../tensor.js";
import { LayerOps } from "./layer-ops.js";
import { PagedOps } from "./paged-ops.js";
import { HeapStore } from "./store-heap.js";
import { checkTensor, type Store } from "./store.js";
import { BufferVersions } from "./versions.js";
import { type WasmKernels, WasmOps } from "./wasm-bridge.js";
import { WasmLayerOps } from "./wasm-layer-ops.js";
import { Workspace } from "./workspace.js";
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
  private readonly layers: LayerOps;
  private readonly paged: PagedOps;
  /** The wasm hot ops (f32 precision with the kernels loaded), else null: reference kernels. */
  private readonly wasm: WasmOps | null;
  private readonly wasmLayers: WasmLayerOps | null;
  /** Work blocks of the wasm ops in the heap (lse, partials, tables). */
  private readonly workspace: Workspace | null;
  /** Write stamps of the buffers (every op stamps the buffers it may write; see versions.ts). */
  private readonly versions = new BufferVersions();

  constructor(private readonly parts: CpuBackendParts) {
    this.store = parts.store;
    const heapStore = parts.kernels && parts.store instanceof HeapStore ? parts.store : null;
    this.workspace = heapStore && new Workspace(heapStore.heap);
    const k = parts.kernels;
    const ws = this.workspace;
    this.wasm = heapStore && k && ws && new WasmOps(k, heapStore, ws, parts.support);
    this.wasmLayers =
      heapStore && k && ws && new WasmLayerOps(k, heapStore, this.versions, ws, parts.support);
    this.layers = new LayerOps(parts.store, this.wasmLayers);
    const wasm = this.wasm?.support.attention ? this.wasm : null;
    this.paged = new PagedOps(parts.store, wasm);
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
    this.check("read", t, false);
    return this.store.read(t);
  }
  async sync(): Promise<void> {
    this.alive();
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.wasmLayers?.dispose();
    this.workspace?.dispose();
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
    expectShape("add a", a, out.shape);
    expectShape("add b", b, out.shape);
    if (this.wasmLayers?.support.elementwise) {
      this.wasmLayers.add(out, a, b, { n, alpha, beta });
      return;
    }
    addRef(this.store.output(out), this.store.input(a), this.store.input(b), { n, alpha, beta });
  }
  scale(out: Tensor, x: Tensor, alpha: number): void {
    this.checkF32("scale", { out, x });
    const n = numel(out.shape);
    expectShape("scale x", x, out.shape);
    if (this.wasmLayers?.support.elementwise) {
      this.wasmLayers.scale(out, x, { n, alpha });
      return;
    }
    scaleRef(this.store.output(out), this.store.input(x), n, alpha);
  }

  // ---- linear algebra -----------------------------------------------------------------------
  matmul(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
    this.checkAll("matmul", { out, a, b });
    const dims = matmulDims(out, a, b, opts);
    if (dims.batch * dims.m * dims.n === 0) return;
    if (this.wasm?.support.matmul) {
      this.wasm.matmul(out, a, b, dims);
      return;
    }
    matmulRef({ ...dims, out: this.store.output(out), a: this.store.input(a), b: this.store.input(b) });
  }

  // ---- layer ops (layer-ops.ts) ---------------------------------------------------------------
  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    this.checkAll("embedding", { out, table, ids });
    this.layers.embedding(out, table, ids);
  }
  embeddingBackward(dTable: Tensor, dOut: Tensor, ids: Tensor): void {
    this.checkAll("embeddingBackward", { dTable, dOut, ids });
    this.layers.embeddingBackward(dTable, dOut, ids);
  }
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    this.checkAll("rmsnorm", { out, rstd, x, weight });
    this.layers.rmsnorm(out, rstd, x, weight, eps);
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
    const t = { dx, dWeight, dOut, x, weight, rstd };
    this.checkAll("rmsnormBackward", t);
    this.layers.rmsnormBackward(t, accumulate);
  }
  rope(out: Tensor, x: Tensor, positions: Tensor, base: number, inverse = false): void {
    this.checkAll("rope", { out, x, positions });
    this.layers.rope(out, x, positions, { base, inverse });
  }
  swiglu(out: Tensor, gu: Tensor): void {
    this.checkAll("swiglu", { out, gu });
    this.layers.swiglu(out, gu);
  }
  swigluBackward(dGu: Tensor, dOut: Tensor, gu: Tensor): void {
    this.checkAll("swigluBackward", { dGu, dOut, gu });
    this.layers.swigluBackward(dGu, dOut, gu);
  }
  crossEntropy(losses: Tensor, logits: Tensor, targets: Tensor): void {
    this.checkAll("crossEntropy", { losses });
    this.checkAll("crossEntropy", { logits, targets }, false);
    this.layers.crossEntropy(losses, logits, targets);
  }
  crossEntropyBackward(dLogits: Tensor, logits: Tensor, targets: Tensor, scale: number): void {
    // logits and targets are only read: not stamped, so the forward's saved lse stays valid
    this.checkAll("crossEntropyBackward", { dLogits });
    this.checkAll("crossEntropyBackward", { logits, targets }, false);
    this.layers.crossEntropyBackward(dLogits, logits, targets, scale);
  }
  sumSquares(out: Tensor, xs: readonly Tensor[]): void {
    this.checkAll("sumSquares", { out, ...Object.fromEntries(xs.map((x, i) => [`xs[${i}]`, x])) });
    this.layers.sumSquares(out, xs);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
    this.checkAll("adamw", { param, grad, m, v, ...(opts.clip ? { "clip.sumSq": opts.clip.sumSq } : {}) });
    this.layers.adamw({ param, grad, m, v }, opts);
  }

  // ---- attention ----------------------------------------------------------------------------
  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): void {
    this.checkAll("attention", { out, lse, q, k, v });
    const dims = attentionForwardDims({ out, lse, q, k, v }, opts);
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
    const dims = attentionBackwardDims({ dq, dk, dv, dOut, q, k, v, out, lse }, opts);
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

  // ---- paged KV cache (paged-ops.ts) ---------------------------------------------------------
  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void {
    this.checkAll("kvWrite", { pool, src, slots });
    this.paged.kvWrite(pool, src, slots);
  }
  pagedAttention(out: Tensor, q: Tensor, kPool: Tensor, vPool: Tensor, meta: PagedAttentionMeta): void {
    const { blockTables, seqLens, queryStarts, lse } = meta;
    this.checkAll("pagedAttention", {
      out,
      q,
      kPool,
      vPool,
      blockTables,
      seqLens,
      queryStarts,
      ...(lse ? { lse } : {}),
    });
    this.paged.pagedAttention(out, q, kPool, vPool, meta);
  }

  // ---- helpers ------------------------------------------------------------------------------
  private alive(): void {
    if (this.disposed) throw new BackendError("the cpu backend was disposed: create a new one");
  }
  /** Checks t is a live view; stamps its buffer as written unless `mayWrite` is false. */
  private check(what: string, t: Tensor, mayWrite = true): void {
    this.alive();
    checkTensor(what, t, (b) => this.buffers.get(b.id) === b);
    if (mayWrite) this.versions.bump(t.buffer);
  }
  private checkAll(op: string, ts: Record<string, Tensor>, mayWrite = true): void {
    for (const [name, t] of Object.entries(ts)) this.check(`${op} ${name}`, t, mayWrite);
  }
  private checkF32(op: string, ts: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries(ts)) {
      this.check(`${op} ${name}`, t);
      expectDType(`${op} ${name}`, t, "f32");
    }
  }
}
