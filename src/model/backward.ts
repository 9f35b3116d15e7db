// Backward pass of the CLA transformer: every forward op's backward in reverse order, reading the
// activations the last forward left. Weight gradients ACCUMULATE into the gradient layout (so
// micro-batches add up; zero them between steps). The K/V gradients of all layers of a sharing
// group accumulate into one dK/dV, which then flows through the producer's K/V projections.
import type { Activations, GradActs } from "./activations.js";
import { reshape } from "../backend/tensor.js";
import type { PassContext } from "./forward.js";
import type { ModelWeights } from "./weights.js";

/** Every backward matmul keeps f32 operands (MatmulOptions.exact: gradients underflow in f16). */
const EXACT = { exact: true } as const;

export interface BackwardContext extends PassContext {
  /** Gradient views, same layout as `w`. */
  g: ModelWeights;
}

/**
 * Layer `l` backward: on entry gr.dres = dLoss/d res[l + 1]; on exit dLoss/d res[l].
 * `kvStarted` says whether a later layer of this sharing group already wrote gr.dk / gr.dv.
 */
function layerBackward(ctx: BackwardContext, acts: Activations, gr: GradActs, l: number, kvStarted: boolean) {
  const { backend: be, cfg } = ctx;
  const { N } = acts;
  const { nHeads: H, nKvHeads: Hkv, headDim: D, ropeBase } = cfg;
  const w = ctx.w.layers[l]!;
  const g = ctx.g.layers[l]!;
  const a = acts.layers[l]!;
  const x = acts.res[l]!; // (N, C)
  // FFN: out = resMid + h @ w_down^T
  be.matmul(gr.dh, gr.dres, w.wDown, EXACT); // dh: (N, F) = dres (N, C) @ w_down (C, F)
  be.matmul(g.wDown, gr.dres, a.h, { transA: true, accumulate: true, ...EXACT }); // (C, F) += dres^T @ h
  be.swigluBackward(gr.dgu, gr.dh, a.gu); // dgu: (N, 2F)
  be.matmul(gr.dx, gr.dgu, w.wGateUp, EXACT); // dxf: (N, C) = dgu (N, 2F) @ w_gate_up (2F, C)
  be.matmul(g.wGateUp, gr.dgu, a.xf, { transA: true, accumulate: true, ...EXACT }); // (2F, C)
  be.rmsnormBackward(gr.dres, g.ffnNorm, gr.dx, a.resMid, w.ffnNorm, a.fRstd, true); // dres = d resMid
  // Attention: resMid = x + att @ wo^T
  const datt2 = reshape(gr.datt, [N, H * D]);
  be.matmul(datt2, gr.dres, w.wo, EXACT); // datt: (N, H*D) = dres (N, C) @ wo (C, H*D)
  be.matmul(g.wo, gr.dres, reshape(a.att, [N, H * D]), { transA: true, accumulate: true, ...EXACT }); // (C, H*D)
  const prod = acts.layers[ctx.producers[l]!]!;
  be.attentionBackward(gr.dq, gr.dk, gr.dv, gr.datt, a.q, prod.k!, prod.v!, a.att, a.lse, {
    causal: true,
    accumulateKV: kvStarted,
  });
  // Q path: q = rope(xq @ wq^T), xq = q_norm(x)
  const dq3 = reshape(gr.dq, [N, H, D]);
  be.rope(dq3, dq3, acts.positions, ropeBase, true); // d(pre-RoPE q)
  const dq2 = reshape(gr.dq, [N, H * D]);
  be.matmul(gr.dx, dq2, w.wq, EXACT); // dxq: (N, C) = dq (N, H*D) @ wq (H*D, C)
  be.matmul(g.wq, dq2, a.xq, { transA: true, accumulate: true, ...EXACT }); // (H*D, C)
  be.rmsnormBackward(gr.dres, g.qNorm, gr.dx, x, w.qNorm, a.qRstd, true);
  // K/V path, producers only: every consumer of the group has added into dk, dv by now.
  if (a.xkv && a.kvRstd && w.wk && w.wv && w.kvNorm && g.wk && g.wv && g.kvNorm) {
    const dk3 = reshape(gr.dk, [N, Hkv, D]);
    be.rope(dk3, dk3, acts.positions, ropeBase, true);
    const dk2 = reshape(gr.dk, [N, Hkv * D]);
    const dv2 = reshape(gr.dv, [N, Hkv * D]);
    be.matmul(gr.dx, dk2, w.wk, EXACT); // dxkv: (N, C) = dk (N, Hkv*D) @ wk (Hkv*D, C)
    be.matmul(gr.dx, dv2, w.wv, { accumulate: true, ...EXACT }); // += dv @ wv
    be.matmul(g.wk, dk2, a.xkv, { transA: true, accumulate: true, ...EXACT }); // (Hkv*D, C)
    be.matmul(g.wv, dv2, a.xkv, { transA: true, accumulate: true, ...EXACT }); // (Hkv*D, C)
    be.rmsnormBackward(gr.dres, g.kvNorm, gr.dx, x, w.kvNorm, a.kvRstd, true);
  }
}

/**
 * Whole backward for the loss mean over `validCount` target rows (targets != -1). Requires the
 * forward with loss at the same `acts` to have been enqueued; adds into the gradient views `g`.
 */
export function modelBackward(ctx: BackwardContext, acts: Activations, gr: GradActs, validCount: number) {
  const { backend: be, cfg } = ctx;
  const L = cfg.nLayers;
  // logits = xFinal @ lm_head^T, xFinal = norm(res[L])
  be.crossEntropyBackward(gr.dlogits, acts.logits, acts.targets, validCount > 0 ? 1 / validCount : 0);
  be.matmul(gr.dx, gr.dlogits, ctx.w.lmHead, EXACT); // dxFinal: (N, C) = dlogits (N, V) @ lm_head (V, C)
  be.matmul(ctx.g.lmHead, gr.dlogits, acts.xFinal, { transA: true, accumulate: true, ...EXACT }); // (V, C)
  be.rmsnormBackward(gr.dres, ctx.g.norm, gr.dx, acts.res[L]!, ctx.w.norm, acts.normRstd, false);
  // Layers in reverse. Groups are contiguous runs [p, ..] (the map is non-decreasing), so the
  // group's last layer overwrites dk/dv, the others add, and the producer (its first) finishes.
  let kvStarted = false;
  for (let l = L - 1; l >= 0; l--) {
    layerBackward(ctx, acts, gr, l, kvStarted);
    kvStarted = ctx.producers[l] !== l;
  }
  be.embeddingBackward(ctx.g.embed, gr.dres, acts.ids); // (V, C) += scatter of dres by ids
}
