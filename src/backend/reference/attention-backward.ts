// Reference attention backward by recomputation from lse: p = exp(scale * q.k - lse),
// Di = dOut.out, dv += p dOut, ds = p (dOut.v - Di), dq = scale ds k, dk += scale ds q.
// dq is overwritten; dk/dv are overwritten unless accumulateKV (CLA consumers add into the
// producer's gradients). Sums run in f64 scratch, stored once per element.
import { type AttentionDims, attentionIndex, visibleKeys } from "./attention.js";
import type { Span } from "./types.js";

export interface AttentionBackwardArgs {
  dq: Span; // (B, T, H, D)
  dk: Span; // (B, S, Hkv, D)
  dv: Span; // (B, S, Hkv, D)
  dOut: Span; // (B, T, H, D)
  q: Span; // (B, T, H, D)
  k: Span; // (B, S, Hkv, D)
  v: Span; // (B, S, Hkv, D)
  out: Span; // (B, T, H, D)
  lse: Span; // (B, H, T)
  dims: AttentionDims;
  accumulateKV: boolean;
}

export function attentionBackwardRef(p: AttentionBackwardArgs): void {
  const { dims } = p;
  const { d: D, scale } = dims;
  const ix = attentionIndex(dims);
  const kvSize = dims.b * dims.s * dims.hkv * D;
  const dk = new Float64Array(kvSize);
  const dv = new Float64Array(kvSize);
  const dq = new Float64Array(D);
  for (let b = 0; b < dims.b; b++) {
    for (let h = 0; h < dims.h; h++) {
      for (let t = 0; t < dims.t; t++) {
        const qo = ix.qRow(b, t, h);
        const n = visibleKeys(dims, t);
        const lse = p.lse.data[p.lse.off + ix.lse(b, h, t)]!;
        let di = 0;
        for (let i = 0; i < D; i++) di += p.dOut.data[p.dOut.off + qo + i]! * p.out.data[p.out.off + qo + i]!;
        dq.fill(0);
        for (let j = 0; j < n; j++) {
          const kvo = ix.kvRow(b, j, h);
          let s = 0;
          let dp = 0;
          for (let i = 0; i < D; i++) {
            s += p.q.data[p.q.off + qo + i]! * p.k.data[p.k.off + kvo + i]!;
            dp += p.dOut.data[p.dOut.off + qo + i]! * p.v.data[p.v.off + kvo + i]!;
          }
          const prob = Math.exp(s * scale - lse);
          const ds = prob * (dp - di) * scale;
          for (let i = 0; i < D; i++) {
            dv[kvo + i]! += prob * p.dOut.data[p.dOut.off + qo + i]!;
            dk[kvo + i]! += ds * p.q.data[p.q.off + qo + i]!;
            dq[i]! += ds * p.k.data[p.k.off + kvo + i]!;
          }
        }
        for (let i = 0; i < D; i++) p.dq.data[p.dq.off + qo + i] = dq[i]!;
      }
    }
  }
  for (let i = 0; i < kvSize; i++) {
    if (p.accumulateKV) {
      p.dk.data[p.dk.off + i]! += dk[i]!;
      p.dv.data[p.dv.off + i]! += dv[i]!;
    } else {
      p.dk.data[p.dk.off + i] = dk[i]!;
      p.dv.data[p.dv.off + i] = dv[i]!;
    }
  }
}
