// Reference cross entropy over logits rows: losses (N) = logsumexp(row) - row[target], and
// dLogits = scale * (softmax(row) - onehot(target)). Target -1 means "ignore": loss 0, gradient 0.
// Targets must already be validated to lie in [-1, V).
import type { IntSpan, Span } from "./types.js";

export interface CrossEntropyArgs {
  losses: Span; // (N)
  logits: Span; // (N, V)
  targets: IntSpan; // (N)
  n: number;
  v: number;
}

function rowLse(x: Span, r: number, v: number): number {
  const o = x.off + r * v;
  let mx = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < v; j++) mx = Math.max(mx, x.data[o + j]!);
  let s = 0;
  for (let j = 0; j < v; j++) s += Math.exp(x.data[o + j]! - mx);
  return mx + Math.log(s);
}

export function crossEntropyRef({ losses, logits, targets, n, v }: CrossEntropyArgs): void {
  for (let r = 0; r < n; r++) {
    const t = targets.data[targets.off + r]!;
    losses.data[losses.off + r] = t < 0 ? 0 : rowLse(logits, r, v) - logits.data[logits.off + r * v + t]!;
  }
}

export interface CrossEntropyBackwardArgs {
  dLogits: Span; // (N, V)
  logits: Span; // (N, V)
  targets: IntSpan; // (N)
  n: number;
  v: number;
  scale: number;
}

export function crossEntropyBackwardRef(p: CrossEntropyBackwardArgs): void {
  const { n, v, scale } = p;
  for (let r = 0; r < n; r++) {
    const t = p.targets.data[p.targets.off + r]!;
    const o = p.logits.off + r * v;
    const d = p.dLogits.off + r * v;
    if (t < 0) {
      p.dLogits.data.fill(0, d, d + v);
      continue;
    }
    const lse = rowLse(p.logits, r, v);
    for (let j = 0; j < v; j++) {
      p.dLogits.data[d + j] = scale * (Math.exp(p.logits.data[o + j]! - lse) - (j === t ? 1 : 0));
    }
  }
}
