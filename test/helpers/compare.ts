// Comparison with a relative error bound: max|x - ref| / (max|ref| + 1e-6), where a non-finite x
// against a finite ref (e.g. an unwritten, NaN-poisoned element) counts as an infinite error.
// Tolerances per kind of op, for f32 compute and for values stored in f16/bf16.
import assert from "node:assert/strict";

export const TOL = {
  /** copies, casts from exact values, single multiply-adds. */
  exact: 1e-6,
  /** elementwise transcendental ops (silu, rope, adamw). */
  elementwise: 2e-5,
  /** reductions (matmul, norms, softmax, losses). */
  reduce: 1e-4,
  /** attention forward/backward (two chained reductions and exp). */
  attention: 3e-4,
  /** results stored in f16 (11-bit significand: relative 2^-11 per element). */
  f16: 1e-3,
  /** results stored in bf16 (8-bit significand: relative 2^-8 per element). */
  bf16: 8e-3,
} as const;

type Floats = Float32Array | Float64Array | Int32Array | number[];

export function relError(x: Floats, ref: Floats): number {
  assert.equal(x.length, ref.length, "compared arrays differ in length");
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const v = x[i]!;
    if (Number.isNaN(r)) {
      if (!Number.isNaN(v)) return Number.POSITIVE_INFINITY;
      continue;
    }
    maxRef = Math.max(maxRef, Math.abs(r));
    if (!Number.isFinite(v) || !Number.isFinite(r)) {
      if (v !== r) return Number.POSITIVE_INFINITY;
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(v - r));
  }
  return maxDiff / (maxRef + 1e-6);
}

/** Index and values of the worst element, for failure messages. */
function worst(x: Floats, ref: Floats): string {
  let at = 0;
  let d = -1;
  for (let i = 0; i < ref.length; i++) {
    const e = Number.isFinite(x[i]!) ? Math.abs(x[i]! - ref[i]!) : Number.POSITIVE_INFINITY;
    if (e > d) {
      d = e;
      at = i;
    }
  }
  return `worst at [${at}]: got ${x[at]}, want ${ref[at]}`;
}

export function assertClose(what: string, x: Floats, ref: Floats, tol: number): void {
  const e = relError(x, ref);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol} (${worst(x, ref)})`);
}
