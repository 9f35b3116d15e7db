// Loads the WebAssembly SIMD kernels (src/backend/cpu/wasm, owned by the wasm-kernels engineer)
// and routes the hot ops (matmul, attention forward/backward) to them with byte pointers into the
// shared heap; f16/bf16 operands are widened into heap scratch first. If the kernels fail to load,
// the backend runs every op on the TypeScript reference kernels instead (same results, slower).
import type { Tensor } from "../tensor.js";
import type { AttentionDims } from "../reference/attention.js";
import type { WasmKernels } from "./wasm/index.js";
import type { HeapStore } from "./store-heap.js";
import type { MatmulDims } from "./validate.js";
import type { WasmSupport } from "./wasm-selftest.js";

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
    /** Which ops passed the start-up self-test; the others use the reference kernels. */
    readonly support: WasmSupport,
  ) {}

  matmul(out: Tensor, a: Tensor, b: Tensor, dims: MatmulDims): void {
    const s = this.store;
    s.withF32Ptr(b, (bPtr) => this.kernels.matmul({ ...dims, a: s.bytePtr(a), b: bPtr, c: s.bytePtr(out) }));
  }

  attention(t: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor }, dims: AttentionDims): void {
    const s = this.store;
    s.withF32Ptr(t.k, (k) =>
      s.withF32Ptr(t.v, (v) =>
        this.kernels.attention({
          ...wasmDims(dims),
          q: s.bytePtr(t.q),
          k,
          v,
          out: s.bytePtr(t.out),
          lse: s.bytePtr(t.lse),
        }),
      ),
    );
  }

  attentionBackward(
    t: Record<"dq" | "dk" | "dv" | "dOut" | "q" | "k" | "v" | "out" | "lse", Tensor>,
    dims: AttentionDims,
    accumulateKV: boolean,
  ): void {
    const s = this.store;
    s.withF32Ptr(t.k, (k) =>
      s.withF32Ptr(t.v, (v) =>
        this.kernels.attentionBackward({
          ...wasmDims(dims),
          dq: s.bytePtr(t.dq),
          dk: s.bytePtr(t.dk),
          dv: s.bytePtr(t.dv),
          dOut: s.bytePtr(t.dOut),
          q: s.bytePtr(t.q),
          k,
          v,
          out: s.bytePtr(t.out),
          lse: s.bytePtr(t.lse),
          accumulateKV,
        }),
      ),
    );
  }
}

function wasmDims(d: AttentionDims) {
  return { batch: d.b, t: d.t, s: d.s, h: d.h, hkv: d.hkv, d: d.d, scale: d.scale, causal: d.causal };
}
