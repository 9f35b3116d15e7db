// Forward pass of the CLA transformer (Llama-like: pre-norm RMSNorm, SwiGLU, RoPE, no biases):
// enqueues backend ops that fill an Activations set for (B, T). Sharing layers project only Q and
// attend over their producer's K/V (already RoPE'd there); nothing is copied. No host reads here.
import type { Backend } from "../backend/backend.js";
import { reshape, type Tensor } from "../backend/tensor.js";
import type { Activations } from "./activations.js";
import type { ModelConfig } from "./config-types.js";
import type { ModelWeights } from "./weights.js";

export interface PassContext {
  backend: Backend;
  cfg: ModelConfig;
  /** layer -> producer layer. */
  producers: readonly number[];
  w: ModelWeights;
}

/** Per-layer tensors of the Q and K/V paths: x (N, C) in; q (N, H, D), k, v (N, Hkv, D) out. */
export interface QkvIo {
  x: Tensor; // (N, C) the residual stream entering the layer
  positions: Tensor; // (N) i32
  xq: Tensor; // (N, C) scratch: q_norm(x)
  qRstd: Tensor; // (N)
  q: Tensor; // (N, H, D) after RoPE
  /** Producers only: kv_norm(x) scratch, its rstd, and k (after RoPE), v outputs. */
  kv?: { xkv: Tensor; kvRstd: Tensor; k: Tensor; v: Tensor };
}

/** Q path (q = rope(q_norm(x) @ wq^T)) and, for producers, the K/V path. Shared with infer/. */
export function layerQkv(ctx: PassContext, l: number, io: QkvIo): void {
  const { backend: be, cfg } = ctx;
  const { nHeads: H, nKvHeads: Hkv, headDim: D, normEps: eps, ropeBase } = cfg;
  const N = io.x.shape[0]!;
  const w = ctx.w.layers[l]!;
  be.rmsnorm(io.xq, io.qRstd, io.x, w.qNorm, eps); // xq: (N, C)
  const q3 = reshape(io.q, [N, H, D]);
  be.matmul(reshape(io.q, [N, H * D]), io.xq, w.wq, { transB: true }); // q: (N, H*D)
  be.rope(q3, q3, io.positions, ropeBase);
  // K/V path, producers only: k = rope(kv_norm(x) @ wk^T), v = kv_norm(x) @ wv^T
  if (io.kv && w.kvNorm && w.wk && w.wv) {
    const { xkv, kvRstd, k, v } = io.kv;
    be.rmsnorm(xkv, kvRstd, io.x, w.kvNorm, eps); // xkv: (N, C)
    const k3 = reshape(k, [N, Hkv, D]);
    be.matmul(reshape(k, [N, Hkv * D]), xkv, w.wk, { transB: true }); // k: (N, Hkv*D)
    be.matmul(reshape(v, [N, Hkv * D]), xkv, w.wv, { transB: true }); // v: (N, Hkv*D)
    be.rope(k3, k3, io.positions, ropeBase);
  }
}

/** Tensors of the output projection and FFN: att (N, H*D) and x (N, C) in, out (N, C). */
export interface OutFfnIo {
  x: Tensor; // (N, C) the residual stream entering the layer
  att: Tensor; // attention output, N*H*D elements
  resMid: Tensor; // (N, C) x + att @ wo^T
  xf: Tensor; // (N, C) scratch: ffn_norm(resMid)
  fRstd: Tensor; // (N)
  gu: Tensor; // (N, 2F)
  h: Tensor; // (N, F)
  out: Tensor; // (N, C) the residual stream leaving the layer
}

/** resMid = x + att @ wo^T; out = resMid + swiglu(ffn_norm(resMid) @ w_gate_up^T) @ w_down^T. */
export function layerOutFfn(ctx: PassContext, l: number, io: OutFfnIo): void {
  const { backend: be, cfg } = ctx;
  const { nHeads: H, headDim: D, normEps: eps } = cfg;
  const N = io.x.shape[0]!;
  const w = ctx.w.layers[l]!;
  be.matmul(io.resMid, reshape(io.att, [N, H * D]), w.wo, { transB: true }); // (N, C)
  be.add(io.resMid, io.resMid, io.x);
  be.rmsnorm(io.xf, io.fRstd, io.resMid, w.ffnNorm, eps); // xf: (N, C)
  be.matmul(io.gu, io.xf, w.wGateUp, { transB: true }); // gu: (N, 2F)
  be.swiglu(io.h, io.gu); // h: (N, F)
  be.matmul(io.out, io.h, w.wDown, { transB: true });
  be.add(io.out, io.out, io.resMid);
}

/** Runs layer `l`: res[l] -> resMid -> res[l + 1]. */
export function layerForward(ctx: PassContext, acts: Activations, l: number): void {
  const a = acts.layers[l]!;
  const x = acts.res[l]!; // (N, C)
  const kv = a.k && a.v && a.xkv && a.kvRstd ? { xkv: a.xkv, kvRstd: a.kvRstd, k: a.k, v: a.v } : undefined;
  layerQkv(ctx, l, { x, positions: acts.positions, xq: a.xq, qRstd: a.qRstd, q: a.q, ...(kv ? { kv } : {}) });
  const prod = acts.layers[ctx.producers[l]!]!;
  // att: (B, T, H, D) over the producer's k, v: (B, T, Hkv, D)
  ctx.backend.attention(a.att, a.lse, a.q, prod.k!, prod.v!, { causal: true });
  layerOutFfn(ctx, l, {
    x,
    att: a.att,
    resMid: a.resMid,
    xf: a.xf,
    fRstd: a.fRstd,
    gu: a.gu,
    h: a.h,
    out: acts.res[l + 1]!,
  });
}

/**
 * Whole forward: embedding, every layer, final norm, logits (N, V); with `withLoss`, per-row
 * cross-entropy into acts.losses (N) against acts.targets. acts.ids/targets must be written.
 */
export function modelForward(ctx: PassContext, acts: Activations, withLoss: boolean): void {
  const { backend: be, cfg } = ctx;
  be.embedding(acts.res[0]!, ctx.w.embed, acts.ids); // (N, C)
  for (let l = 0; l < cfg.nLayers; l++) layerForward(ctx, acts, l);
  be.rmsnorm(acts.xFinal, acts.normRstd, acts.res[cfg.nLayers]!, ctx.w.norm, cfg.normEps); // (N, C)
  be.matmul(acts.logits, acts.xFinal, ctx.w.lmHead, { transB: true }); // (N, V)
  if (withLoss) be.crossEntropy(acts.losses, acts.logits, acts.targets); // (N)
}
