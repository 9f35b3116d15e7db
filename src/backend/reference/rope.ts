// Reference rotary embedding, HF Llama convention (rotate_half): within each head the pairs are
// (i, i + D/2) for i < D/2, angle = position * base^(-2i/D). out may alias x. inverse rotates by
// -angle, which is the backward pass (the rotation is orthogonal).
import type { IntSpan, Span } from "./types.js";

export interface RopeArgs {
  out: Span; // (N, Hx, D)
  x: Span; // (N, Hx, D)
  positions: IntSpan; // (N)
  n: number;
  heads: number;
  d: number;
  base: number;
  inverse: boolean;
}

export function ropeRef(p: RopeArgs): void {
  const { n, heads, d } = p;
  const half = d / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = p.base ** ((-2 * i) / d);
  const sign = p.inverse ? -1 : 1;
  const X = p.x.data;
  const O = p.out.data;
  for (let r = 0; r < n; r++) {
    const pos = p.positions.data[p.positions.off + r]!;
    for (let i = 0; i < half; i++) {
      const ang = pos * inv[i]!;
      const cs = Math.cos(ang);
      const sn = sign * Math.sin(ang);
      for (let h = 0; h < heads; h++) {
        const base = (r * heads + h) * d + i;
        const x1 = X[p.x.off + base]!;
        const x2 = X[p.x.off + base + half]!;
        O[p.out.off + base] = x1 * cs - x2 * sn;
        O[p.out.off + base + half] = x2 * cs + x1 * sn;
      }
    }
  }
}
