// Start-up check of the wasm kernels: each op runs once on a tiny problem (odd sizes, GQA,
// causal with S > T; the layer ops in wasm-selftest-layers.ts) against the reference kernels. An op that throws or disagrees is not used:
// the backend falls back to the reference for it, so a half-finished kernel never gives wrong
// results. This is a guard, not a test: the op tests in test/ops check the kernels thoroughly.
import { attentionRef, type AttentionDims } from "../reference/attention.js";
import { attentionBackwardRef } from "../reference/attention-backward.js";
import { matmulRef } from "../reference/matmul.js";
import type { SharedHeap } from "./heap.js";
import { close, data, Scratch, span, tryOp } from "./selftest-scratch.js";
import type { WasmKernels } from "./wasm/index.js";
import { verifyLayerKernels } from "./wasm-selftest-layers.js";

export interface WasmSupport {
  matmul: boolean;
  attention: boolean;
  attentionBackward: boolean;
  /** crossEntropy and its backward. */
  crossEntropy: boolean;
  /** swiglu and its backward. */
  swiglu: boolean;
  /** rmsnorm and its backward. */
  rmsnorm: boolean;
  rope: boolean;
  /** adamw and sumSquares. */
  adamw: boolean;
  /** add and scale. */
  elementwise: boolean;
}

export function verifyKernels(kernels: WasmKernels, heap: SharedHeap): WasmSupport {
  const s = new Scratch(heap);
  try {
    const matmul = tryOp(() => {
      const [m, n, k] = [5, 9, 7];
      const a = data(m * k, 1);
      const b = data(k * n, 2);
      const want = new Float32Array(m * n);
      const dims = { m, n, k, batch: 1, strideA: 0, strideB: 0, strideC: 0, transA: false, transB: true };
      matmulRef({ ...dims, out: span(want), a: span(a), b: span(b), alpha: 0.5, accumulate: false });
      const c = s.put(new Float32Array(m * n).fill(Number.NaN));
      kernels.matmul({ ...dims, a: s.put(a), b: s.put(b), c, alpha: 0.5, accumulate: false });
      return close(s.read(c, m * n), want);
    });
    const dims: AttentionDims = { b: 1, t: 3, s: 5, h: 4, hkv: 2, d: 8, scale: 0.4, causal: true };
    const nq = dims.t * dims.h * dims.d;
    const nkv = dims.s * dims.hkv * dims.d;
    const [q, k, v, dOut] = [data(nq, 3), data(nkv, 4), data(nkv, 5), data(nq, 6)];
    const out = new Float32Array(nq);
    const lse = new Float32Array(dims.h * dims.t);
    attentionRef({ out: span(out), lse: span(lse), q: span(q), k: span(k), v: span(v), dims });
    const wasmDims = { ...dims, batch: 1 };
    const ptrs = { q: s.put(q), k: s.put(k), v: s.put(v), out: s.put(out), lse: s.put(lse) };
    const attention = tryOp(() => {
      const o = s.put(new Float32Array(nq).fill(Number.NaN));
      const l = s.put(new Float32Array(dims.h * dims.t).fill(Number.NaN));
      kernels.attention({ ...wasmDims, ...ptrs, out: o, lse: l });
      return close(s.read(o, nq), out) && close(s.read(l, lse.length), lse);
    });
    const attentionBackward = tryOp(() => {
      const want = { dq: new Float32Array(nq), dk: new Float32Array(nkv), dv: new Float32Array(nkv) };
      attentionBackwardRef({
        dq: span(want.dq),
        dk: span(want.dk),
        dv: span(want.dv),
        dOut: span(dOut),
        q: span(q),
        k: span(k),
        v: span(v),
        out: span(out),
        lse: span(lse),
        dims,
        accumulateKV: false,
      });
      // both ways of computing dq: query items, and key-item partials plus a reduction
      const partials = s.put(new Float32Array(kernels.attentionDqPartialsBytes(wasmDims) / 4));
      return [0, partials].every((dqPartials) => {
        const got = {
          dq: s.put(new Float32Array(nq).fill(Number.NaN)),
          dk: s.put(new Float32Array(nkv).fill(Number.NaN)),
          dv: s.put(new Float32Array(nkv).fill(Number.NaN)),
        };
        const io = { ...wasmDims, ...ptrs, ...got, dOut: s.put(dOut), accumulateKV: false, dqPartials };
        kernels.attentionBackward(io);
        return (
          close(s.read(got.dq, nq), want.dq) &&
          close(s.read(got.dk, nkv), want.dk) &&
          close(s.read(got.dv, nkv), want.dv)
        );
      });
    });
    return { matmul, attention, attentionBackward, ...verifyLayerKernels(kernels, s) };
  } finally {
    s.free();
  }
}
