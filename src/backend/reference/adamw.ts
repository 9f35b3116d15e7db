// Reference AdamW step (decoupled weight decay, PyTorch semantics): g = grad * gradScale * clip,
// m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p -= lr * (wd * p + mhat / (sqrt(vhat) + eps)).
// clip = min(1, maxNorm / sqrt(sumSq)) is computed by the caller (it reads the sumSq tensor).
import type { Span } from "./types.js";

export interface AdamWArgs {
  param: Span; // (n)
  grad: Span; // (n)
  m: Span; // (n)
  v: Span; // (n)
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  /** gradScale times the clip factor. */
  gradMul: number;
}

/** The clip factor min(1, maxNorm / sqrt(sumSq)); 1 when the norm is 0. */
export function clipFactor(sumSq: number, maxNorm: number): number {
  const norm = Math.sqrt(sumSq);
  return norm > maxNorm ? maxNorm / norm : 1;
}

export function adamwRef(p: AdamWArgs): void {
  const bc1 = 1 - p.beta1 ** p.step;
  const bc2 = 1 - p.beta2 ** p.step;
  const P = p.param.data;
  const M = p.m.data;
  const V = p.v.data;
  for (let i = 0; i < p.n; i++) {
    const g = p.grad.data[p.grad.off + i]! * p.gradMul;
    const mi = p.beta1 * M[p.m.off + i]! + (1 - p.beta1) * g;
    const vi = p.beta2 * V[p.v.off + i]! + (1 - p.beta2) * g * g;
    M[p.m.off + i] = mi;
    V[p.v.off + i] = vi;
    const w = P[p.param.off + i]!;
    P[p.param.off + i] = w - p.lr * (p.weightDecay * w + mi / bc1 / (Math.sqrt(vi / bc2) + p.eps));
  }
}
