// Reference RMSNorm: out = x * rstd * weight with rstd = 1 / sqrt(mean(x^2) + eps) per row, and its
// backward: dx = rstd * (w * dy) - x * rstd^3 / C * sum(dy * w * x); dWeight += sum_n dy * x * rstd.
import type { Span } from "./types.js";

export interface RmsnormArgs {
  out: Span; // (N, C)
  rstd: Span; // (N)
  x: Span; // (N, C)
  weight: Span; // (C)
  n: number;
  c: number;
  eps: number;
}

export function rmsnormRef({ out, rstd, x, weight, n, c, eps }: RmsnormArgs): void {
  for (let r = 0; r < n; r++) {
    const x0 = x.off + r * c;
    let ss = 0;
    for (let j = 0; j < c; j++) ss += x.data[x0 + j]! ** 2;
    const rs = 1 / Math.sqrt(ss / c + eps);
    rstd.data[rstd.off + r] = rs;
    const o0 = out.off + r * c;
    for (let j = 0; j < c; j++) out.data[o0 + j] = x.data[x0 + j]! * rs * weight.data[weight.off + j]!;
  }
}

export interface RmsnormBackwardArgs {
  dx: Span; // (N, C), overwritten or accumulated
  dWeight: Span; // (C), accumulated
  dOut: Span; // (N, C)
  x: Span; // (N, C)
  weight: Span; // (C)
  rstd: Span; // (N)
  n: number;
  c: number;
  accumulate: boolean;
}

export function rmsnormBackwardRef(p: RmsnormBackwardArgs): void {
  const { n, c } = p;
  const w = p.weight.data;
  const wo = p.weight.off;
  const dw = new Float64Array(c); // summed over rows first: one rounding per element on store
  for (let r = 0; r < n; r++) {
    const x0 = p.x.off + r * c;
    const g0 = p.dOut.off + r * c;
    const d0 = p.dx.off + r * c;
    const rs = p.rstd.data[p.rstd.off + r]!;
    let dot = 0;
    for (let j = 0; j < c; j++) dot += p.dOut.data[g0 + j]! * w[wo + j]! * p.x.data[x0 + j]!;
    const coef = (rs * rs * rs * dot) / c;
    for (let j = 0; j < c; j++) {
      const xj = p.x.data[x0 + j]!;
      const gj = p.dOut.data[g0 + j]!;
      const v = rs * w[wo + j]! * gj - xj * coef;
      if (p.accumulate) p.dx.data[d0 + j]! += v;
      else p.dx.data[d0 + j] = v;
      dw[j]! += gj * xj * rs;
    }
  }
  for (let j = 0; j < c; j++) p.dWeight.data[p.dWeight.off + j]! += dw[j]!;
}
