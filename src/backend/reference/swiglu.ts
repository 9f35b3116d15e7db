// Reference SwiGLU: gu (N, 2F) = [gate | up], out (N, F) = silu(gate) * up, and its backward
// (dGu overwritten). silu(g) = g * sigmoid(g).
import type { Span } from "./types.js";

export interface SwigluArgs {
  out: Span; // (N, F)
  gu: Span; // (N, 2F)
  n: number;
  f: number;
}

const sigmoid = (g: number) => 1 / (1 + Math.exp(-g));

export function swigluRef({ out, gu, n, f }: SwigluArgs): void {
  for (let r = 0; r < n; r++) {
    const g0 = gu.off + r * 2 * f;
    const o0 = out.off + r * f;
    for (let j = 0; j < f; j++) {
      const g = gu.data[g0 + j]!;
      out.data[o0 + j] = g * sigmoid(g) * gu.data[g0 + f + j]!;
    }
  }
}

export interface SwigluBackwardArgs {
  dGu: Span; // (N, 2F)
  dOut: Span; // (N, F)
  gu: Span; // (N, 2F)
  n: number;
  f: number;
}

export function swigluBackwardRef({ dGu, dOut, gu, n, f }: SwigluBackwardArgs): void {
  for (let r = 0; r < n; r++) {
    const g0 = gu.off + r * 2 * f;
    const d0 = dGu.off + r * 2 * f;
    const o0 = dOut.off + r * f;
    for (let j = 0; j < f; j++) {
      const g = gu.data[g0 + j]!;
      const u = gu.data[g0 + f + j]!;
      const dy = dOut.data[o0 + j]!;
      const s = sigmoid(g);
      dGu.data[d0 + j] = dy * u * s * (1 + g * (1 - s));
      dGu.data[d0 + f + j] = dy * g * s;
    }
  }
}
