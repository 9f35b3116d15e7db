// The engine step's device-side helpers beyond the core op list: small-M linear layers (decode
// GEMV, optionally accumulating, optionally with the rmsnorm or the SwiGLU before it fused in), the
// K/V append with k's rope fused in, attention with q's rope fused in, and a per-row argmax for
// greedy sampling. They use the backend's optional DecodeKernels where it has them and take the
// shape; otherwise the same Backend ops in the same order (rmsnorm/swiglu, then matmul). Without
// a device argmax the engine reads the logits and samples on the host.
import type { Backend, DecodeKernels, PagedAttentionMeta } from "../backend/backend.js";
import { numel, type Tensor, view } from "../backend/tensor.js";

/** Scratch the fallbacks write (the unfused ops' intermediate), sized by the caller. */
export interface FusedScratch {
  /** (M, K) normed x or swiglu output. */
  xs: Tensor;
  /** (M) rmsnorm's rstd. */
  rstd: Tensor;
}

export interface StepKernels {
  /** out (M, N) = x (M, K) @ w (N, K)^T, or out += it when `accumulate`. */
  linear(out: Tensor, x: Tensor, w: Tensor, accumulate?: boolean): void;
  /** out = rmsnorm(x, weight, eps) @ w^T. Returns false when it ran unfused (scratch.xs = the norm). */
  normLinear(
    io: { out: Tensor; x: Tensor; w: Tensor; weight: Tensor; eps: number },
    scratch: FusedScratch,
  ): boolean;
  /**
   * q (M, nq), k, v (M, nkv) = rmsnorm(x) * qNorm @ wq^T, rmsnorm(x) * kvNorm @ wk^T, @ wv^T in one
   * dispatch, as views of `out` (M x (nq + 2 nkv) elements), when the backend has the fused kernel
   * and the weights lie as the model layout places them ([wq; wk; wv] adjacent, kvNorm after
   * qNorm in the same buffer); else null and nothing is recorded (the caller runs the three normLinears). With
   * `append` (positions and slots adjacent, as the step metadata places them) and a backend that
   * fuses it, k and v go straight into the pools (k roped) and come back null: no appendKv needed.
   */
  /** Whether qkvLinear can fuse at all on this backend (so callers skip its scratch otherwise). */
  readonly fusesQkv: boolean;
  qkvLinear(io: {
    out: Tensor;
    x: Tensor;
    wq: Tensor;
    wk: Tensor;
    wv: Tensor;
    qNorm: Tensor;
    kvNorm: Tensor;
    eps: number;
    append?: { kPool: Tensor; vPool: Tensor; positions: Tensor; slots: Tensor; ropeBase: number };
  }): { q: Tensor; k: Tensor | null; v: Tensor | null } | null;
  /** out (+)= swiglu(gu) @ w^T; gu (M, 2K) = [gate | up]. */
  swigluLinear(io: { out: Tensor; gu: Tensor; w: Tensor; accumulate?: boolean }, scratch: FusedScratch): void;
  /**
   * kPool[slots] = rope(kPre), vPool[slots] = v (producers' new K/V); kPre, v (N, Hkv, D).
   * `k` is scratch for the unfused path (rope, then kvWrite twice).
   */
  appendKv(io: {
    kPool: Tensor;
    vPool: Tensor;
    kPre: Tensor;
    v: Tensor;
    slots: Tensor;
    positions: Tensor;
    ropeBase: number;
    k: Tensor;
  }): void;
  /** pagedAttention of rope(qPre) (N, H, D); `q` is scratch for the unfused path. */
  ropeAttention(
    io: {
      out: Tensor;
      qPre: Tensor;
      kPool: Tensor;
      vPool: Tensor;
      positions: Tensor;
      ropeBase: number;
      q: Tensor;
    },
    meta: PagedAttentionMeta,
  ): void;
  /** out (M) i32 = argmax of each logits row (M, V), -1 for a NaN/+Inf row; null: not on this backend. */
  argmax: ((out: Tensor, logits: Tensor) => void) | null;
}

export function stepKernels(be: Backend): StepKernels {
  const dk: DecodeKernels | undefined = be.decodeKernels?.();
  const fused = (out: Tensor, x: Tensor, w: Tensor, opts: Parameters<DecodeKernels["linear"]>[1]) =>
    dk?.linear({ out, x, w }, opts) === true;
  const linear = (out: Tensor, x: Tensor, w: Tensor, accumulate = false) => {
    if (!fused(out, x, w, { accumulate })) be.matmul(out, x, w, { transB: true, accumulate });
  };
  return {
    linear,
    normLinear({ out, x, w, weight, eps }, s) {
      if (fused(out, x, w, { norm: { weight, eps } })) return true;
      be.rmsnorm(s.xs, s.rstd, x, weight, eps);
      linear(out, s.xs, w);
      return false;
    },
    fusesQkv: dk !== undefined,
    qkvLinear({ out, x, wq, wk, wv, qNorm, kvNorm, eps, append }) {
      if (!dk) return null;
      const [nq, c] = wq.shape as [number, number];
      const nkv = wk.shape[0]!;
      const buf = wq.buffer;
      const adjacent =
        wk.buffer === buf &&
        wv.buffer === buf &&
        wk.offset === wq.offset + nq * c &&
        wv.offset === wk.offset + nkv * c &&
        kvNorm.buffer === qNorm.buffer &&
        kvNorm.offset >= qNorm.offset + c;
      const m = x.shape[0]!;
      if (!adjacent || numel(out.shape) !== m * (nq + 2 * nkv)) return null;
      const o = out.offset;
      const w = view(buf, [nq + 2 * nkv, c], wq.offset);
      // both norm weights in one view: q's at 0, k/v's at gKv (the layout may align them apart)
      const gKv = kvNorm.offset - qNorm.offset;
      const g = view(qNorm.buffer, [gKv + c], qNorm.offset);
      const q = view(out.buffer, [m, nq], o);
      const ps =
        append &&
        append.slots.buffer === append.positions.buffer &&
        append.slots.offset === append.positions.offset + m;
      if (append && ps && dk.qkvAppend) {
        const io = {
          out: q,
          x,
          w,
          g,
          kPool: append.kPool,
          vPool: append.vPool,
          ps: view(append.positions.buffer, [2 * m], append.positions.offset),
        };
        if (dk.qkvAppend(io, { nq, nkv, gKv, eps, ropeBase: append.ropeBase }))
          return { q, k: null, v: null };
      }
      if (!dk.linear({ out, x, w }, { norm: { weight: g, eps }, qkv: { nq, nkv, gKv } })) return null;
      return {
        q,
        k: view(out.buffer, [m, nkv], o + m * nq),
        v: view(out.buffer, [m, nkv], o + m * (nq + nkv)),
      };
    },
    swigluLinear({ out, gu, w, accumulate = false }, s) {
      if (fused(out, gu, w, { swiglu: true, accumulate })) return;
      be.swiglu(s.xs, gu);
      linear(out, s.xs, w, accumulate);
    },
    appendKv({ kPool, vPool, kPre, v, slots, positions, ropeBase, k }) {
      if (dk?.kvAppend({ kPool, vPool, k: kPre, v, slots, positions }, ropeBase)) return;
      be.rope(k, kPre, positions, ropeBase);
      be.kvWrite(kPool, k, slots);
      be.kvWrite(vPool, v, slots);
    },
    ropeAttention({ out, qPre, kPool, vPool, positions, ropeBase, q }, meta) {
      if (dk?.ropePagedAttention({ out, q: qPre, kPool, vPool }, meta, ropeBase)) return;
      be.rope(q, qPre, positions, ropeBase);
      be.pagedAttention(out, q, kPool, vPool, meta);
    },
    argmax: dk ? (out, logits) => dk.argmaxRows(out, logits) : null,
  };
}
