// Forward pass of the CLA transformer (Llama-like: pre-norm RMSNorm, SwiGLU, RoPE, no biases):
// enqueues backend ops that fill an Activations set for (B, T). Sharing layers project only Q and
// attend over their producer's K/V (already RoPE'd there); nothing is copied. No host reads here.
import type { Backend } from "../backend/backend.js";
import { reshape } from "../backend/tensor.js";
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

/** Runs layer `l`: res[l] -> resMid -> res[l + 1]. */
export function layerForward(ctx: PassContext, acts: Activations, l: number): void {
  const { backend: be, cfg } = ctx;
  const { N } = acts;
  const { nHeads: H, nKvHeads: Hkv, headDim: D, normEps: eps, ropeBase } = cfg;
  const w = ctx.w.layers[l]!;
  const a = acts.layers[l]!;
  const x = acts.res[l]!; // (N, C)
  // Q path: q = rope(q_norm(x) @ wq^T)
  be.rmsnorm(a.xq, a.qRstd, x, w.qNorm, eps); // xq: (N, C)
  const q3 = reshape(a.q, [N, H, D]);
  be.matmul(reshape(a.q, [N, H * D]), a.xq, w.wq, { transB: true }); // q: (N, H*D)
  be.rope(q3, q3, acts.positions, ropeBase);
  // K/V path, producers only: k = rope(kv_norm(x) @ wk^T), v = kv_norm(x) @ wv^T
  if (a.k && a.v && a.xkv && a.kvRstd && w.kvNorm && w.wk && w.wv) {
    be.rmsnorm(a.xkv, a.kvRstd, x, w.kvNorm, eps); // xkv: (N, C)
    const k3 = reshape(a.k, [N, Hkv, D]);
    be.matmul(reshape(a.k, [N, Hkv * D]), a.xkv, w.wk, { transB: true }); // k: (N, Hkv*D)
    be.matmul(reshape(a.v, [N, Hkv * D]), a.xkv, w.wv, { transB: true }); // v: (N, Hkv*D)
    be.rope(k3, k3, acts.positions, ropeBase);
  }
  const prod = acts.layers[ctx.producers[l]!]!;
  // att: (B, T, H, D) over the producer's k, v: (B, T, Hkv, D)
  be.attention(a.att, a.lse, a.q, prod.k!, prod.v!, { causal: true });
  be.matmul(a.resMid, reshape(a.att, [N, H * D]), w.wo, { transB: true }); // (N, C)
  be.add(a.resMid, a.resMid, x);
  // FFN: res[l + 1] = resMid + swiglu(ffn_norm(resMid) @ w_gate_up^T) @ w_down^T
  be.rmsnorm(a.xf, a.fRstd, a.resMid, w.ffnNorm, eps); // xf: (N, C)
  be.matmul(a.gu, a.xf, w.wGateUp, { transB: true }); // gu: (N, 2F)
  be.swiglu(a.h, a.gu); // h: (N, F)
  const out = acts.res[l + 1]!; // (N, C)
  be.matmul(out, a.h, w.wDown, { transB: true });
  be.add(out, out, a.resMid);
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
