// Reference fused causal attention with GQA/MQA head mapping (query head h reads K/V head
// floor(h / (H / Hkv))), saving lse (the logsumexp of the scaled scores) for the backward pass.
// Causal: query t sits at position t + (S - T) and sees keys 0..t + (S - T). A query that sees no
// key gets out 0 and lse -inf. The backward (attention-backward.ts) recomputes scores from lse.
import type { Span } from "./types.js";

export interface AttentionDims {
  b: number;
  t: number;
  s: number;
  h: number;
  hkv: number;
  d: number;
  scale: number;
  causal: boolean;
}

export interface AttentionArgs {
  out: Span; // (B, T, H, D)
  lse: Span; // (B, H, T)
  q: Span; // (B, T, H, D)
  k: Span; // (B, S, Hkv, D)
  v: Span; // (B, S, Hkv, D)
  dims: AttentionDims;
}

/** Number of keys query t sees: keys 0..visibleKeys-1. */
export function visibleKeys(dims: AttentionDims, t: number): number {
  if (!dims.causal) return dims.s;
  return Math.max(0, Math.min(dims.s, t + dims.s - dims.t + 1));
}

/** Element offsets (relative to each span's own offset) of q/out rows and k/v rows. */
export function attentionIndex(dims: AttentionDims) {
  const { t: T, s: S, h: H, hkv: Hkv, d: D } = dims;
  const group = H / Hkv;
  return {
    qRow: (b: number, t: number, h: number) => ((b * T + t) * H + h) * D,
    kvRow: (b: number, s: number, h: number) => ((b * S + s) * Hkv + Math.floor(h / group)) * D,
    lse: (b: number, h: number, t: number) => (b * H + h) * T + t,
  };
}

export function attentionRef({ out, lse, q, k, v, dims }: AttentionArgs): void {
  const { d: D, scale } = dims;
  const ix = attentionIndex(dims);
  const scores = new Float64Array(dims.s);
  const acc = new Float64Array(D);
  for (let b = 0; b < dims.b; b++) {
    for (let h = 0; h < dims.h; h++) {
      for (let t = 0; t < dims.t; t++) {
        const qo = q.off + ix.qRow(b, t, h);
        const n = visibleKeys(dims, t);
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < n; j++) {
          const ko = k.off + ix.kvRow(b, j, h);
          let s = 0;
          for (let i = 0; i < D; i++) s += q.data[qo + i]! * k.data[ko + i]!;
          scores[j] = s * scale;
          mx = Math.max(mx, scores[j]!);
        }
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const p = Math.exp(scores[j]! - mx);
          sum += p;
          const vo = v.off + ix.kvRow(b, j, h);
          for (let i = 0; i < D; i++) acc[i]! += p * v.data[vo + i]!;
        }
        const oo = out.off + ix.qRow(b, t, h);
        for (let i = 0; i < D; i++) out.data[oo + i] = n > 0 ? acc[i]! / sum : 0;
        lse.data[lse.off + ix.lse(b, h, t)] = n > 0 ? mx + Math.log(sum) : Number.NEGATIVE_INFINITY;
      }
    }
  }
}
