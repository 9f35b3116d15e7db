// Loads the WebAssembly SIMD kernels (src/backend/cpu/wasm, owned by the wasm-kernels engineer)
// and routes the hot ops (matmul, attention forward/backward) to them with byte pointers into the
// shared heap; f16/bf16 operands (matmul B, attention K/V) go to the kernels as they are stored
// (bType/kvType: widened while packing); only K and V of different 16-bit types are widened into
// heap scratch first. If the kernels fail to load, the backend runs every op on the TypeScript
// reference kernels instead (same results, slower).
import { BackendError } from "../../errors.js";
import type { DType, Tensor } from "../tensor.js";
import type { AttentionDims } from "../reference/attention.js";
import type { PagedDims, PagedMetaArrays } from "../reference/paged.js";
import type { PagedAttentionIo } from "./paged-ops.js";
import type { WasmKernels, WasmStorageType } from "./wasm/index.js";
import type { HeapStore } from "./store-heap.js";
import type { MatmulDims } from "../op-shapes.js";
import type { WasmSupport } from "./wasm-selftest.js";
import type { Workspace } from "./workspace.js";

/** Largest dq partials work block the attention backward uses (else query items compute dq). */
const MAX_DQ_PARTIALS_BYTES = 64 * 1024 * 1024;

export type { WasmKernels };

/** The kernels, or null with the reason they are unavailable (shown by `info().detail`). */
export async function loadKernels(
  memory: WebAssembly.Memory,
  threads: number,
): Promise<{ kernels: WasmKernels | null; reason: string }> {
  try {
    const mod = await import("./wasm/index.js");
    return { kernels: await mod.loadWasmKernels({ memory, threads }), reason: "" };
  } catch (e) {
    return { kernels: null, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The hot ops on the wasm kernels; every operand a validated tensor of `store`. */
export class WasmOps {
  constructor(
    private readonly kernels: WasmKernels,
    private readonly store: HeapStore,
    private readonly ws: Workspace,
    /** Which ops passed the start-up self-test; the others use the reference kernels. */
    readonly support: WasmSupport,
  ) {}

  matmul(out: Tensor, a: Tensor, b: Tensor, dims: MatmulDims): void {
    const s = this.store;
    const ptrs = { a: s.bytePtr(a), b: s.bytePtr(b), c: s.bytePtr(out) };
    this.kernels.matmul({ ...dims, ...ptrs, bType: storageType(b.dtype) });
  }

  /** Runs fn with K/V byte pointers and their storage type (same-typed K/V as stored). */
  private withKv<R>(
    k: Tensor,
    v: Tensor,
    fn: (kv: { k: number; v: number; kvType: WasmStorageType }) => R,
  ): R {
    const s = this.store;
    if (k.dtype === v.dtype) return fn({ k: s.bytePtr(k), v: s.bytePtr(v), kvType: storageType(k.dtype) });
    return s.withF32Ptr(k, (kp) => s.withF32Ptr(v, (vp) => fn({ k: kp, v: vp, kvType: "f32" })));
  }

  attention(t: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor }, dims: AttentionDims): void {
    const s = this.store;
    this.withKv(t.k, t.v, (kv) =>
      this.kernels.attention({
        ...wasmDims(dims),
        ...kv,
        q: s.bytePtr(t.q),
        out: s.bytePtr(t.out),
        lse: s.bytePtr(t.lse),
      }),
    );
  }

  /**
   * pagedAttention on the paged kernel: K/V read through the block tables as stored (no gather);
   * `meta` are the validated host copies of the device metadata. Without `lse`, a work block takes
   * the log-sum-exps.
   */
  pagedAttention(t: PagedAttentionIo, dims: PagedDims & { n: number }, meta: PagedMetaArrays): void {
    const s = this.store;
    const nSeq = meta.seqLens.length;
    const lse = t.lse ? s.bytePtr(t.lse) : this.ws.get("paged-lse", 4 * dims.n * dims.nHeads);
    this.withKv(t.kPool, t.vPool, (kv) =>
      this.kernels.pagedAttention({
        h: dims.nHeads,
        hkv: dims.nKvHeads,
        d: dims.headDim,
        scale: dims.scale ?? 1 / Math.sqrt(dims.headDim),
        causal: dims.causal ?? true,
        ...kv,
        q: s.bytePtr(t.q),
        out: s.bytePtr(t.out),
        lse,
        tables: s.bytePtr(t.blockTables),
        seqLens: s.bytePtr(t.seqLens),
        qStarts: s.bytePtr(t.queryStarts),
        items: this.ws.get("paged-items", 4 * (nSeq + 1)),
        nSeq,
        mb: dims.maxBlocksPerSeq,
        bs: dims.blockSize,
        hostSeqLens: meta.seqLens,
        hostQStarts: meta.queryStarts,
        workspace: (bytes) => this.ws.get("paged-partials", bytes),
      }),
    );
  }

  attentionBackward(
    t: Record<"dq" | "dk" | "dv" | "dOut" | "q" | "k" | "v" | "out" | "lse", Tensor>,
    dims: AttentionDims,
    accumulateKV: boolean,
  ): void {
    const s = this.store;
    const partialBytes = this.kernels.attentionDqPartialsBytes(wasmDims(dims));
    const dqPartials = partialBytes <= MAX_DQ_PARTIALS_BYTES ? this.ws.get("attention-dq", partialBytes) : 0;
    this.withKv(t.k, t.v, (kv) =>
      this.kernels.attentionBackward({
        ...wasmDims(dims),
        ...kv,
        dqPartials,
        dq: s.bytePtr(t.dq),
        dk: s.bytePtr(t.dk),
        dv: s.bytePtr(t.dv),
        dOut: s.bytePtr(t.dOut),
        q: s.bytePtr(t.q),
        out: s.bytePtr(t.out),
        lse: s.bytePtr(t.lse),
        accumulateKV,
      }),
    );
  }
}

/** The kernels' storage type of a float operand (validation has restricted it to these). */
function storageType(t: DType): WasmStorageType {
  if (t === "f32" || t === "f16" || t === "bf16") return t;
  throw new BackendError(`internal: ${t} operand passed to a wasm float kernel`);
}

function wasmDims(d: AttentionDims) {
  return { batch: d.b, t: d.t, s: d.s, h: d.h, hkv: d.hkv, d: d.d, scale: d.scale, causal: d.causal };
}
