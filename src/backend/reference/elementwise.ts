// Reference elementwise ops over n elements: out = alpha * a + beta * b, out = alpha * x, and the
// sum of squares. Aliasing out with an input is allowed (each element is read before it is written).
import type { Span } from "./types.js";

export function addRef(out: Span, a: Span, b: Span, p: { n: number; alpha: number; beta: number }): void {
  const { n, alpha, beta } = p;
  for (let i = 0; i < n; i++) {
    out.data[out.off + i] = alpha * a.data[a.off + i]! + beta * b.data[b.off + i]!;
  }
}

export function scaleRef(out: Span, x: Span, n: number, alpha: number): void {
  for (let i = 0; i < n; i++) out.data[out.off + i] = alpha * x.data[x.off + i]!;
}

/** Sum of x[i]^2 over n elements, accumulated in f64. */
export function sumSquaresRef(x: Span, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x.data[x.off + i]! ** 2;
  return s;
}
