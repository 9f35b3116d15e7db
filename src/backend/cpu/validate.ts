// Shape and dtype validation for every op of the CPU backend, returning the dims the kernels need.
// Messages name the op and the argument ("matmul b must have shape [...]"). Leading dims may be
// split (e.g. x (B, T, C) for an (N, C) argument); only the contract's shapes are enforced.
import { ShapeError } from "../../errors.js";
import type { AttentionOptions, MatmulOptions } from "../backend.js";
import type { AttentionDims } from "../reference/attention.js";
import type { MatmulArgs } from "../reference/matmul.js";
import { expectDType, expectShape, numel, sameShape, type Tensor } from "../tensor.js";

export type MatmulDims = Omit<MatmulArgs, "out" | "a" | "b">;

/** Splits t into rows of its last dim: (N, C) with N = product of the leading dims. */
export function rowsOf(what: string, t: Tensor): { n: number; c: number } {
  if (t.shape.length < 2) throw new ShapeError(`${what} must have at least 2 dims (N, C), got [${t.shape}]`);
  const c = t.shape[t.shape.length - 1]!;
  return { n: numel(t.shape.slice(0, -1)), c };
}

/** Throws unless t has exactly n elements. */
export function expectNumel(what: string, t: Tensor, n: number, hint = ""): void {
  if (numel(t.shape) !== n) {
    throw new ShapeError(`${what} must have ${n} elements${hint}, got shape [${t.shape}]`);
  }
}

export function checkMatmul(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions): MatmulDims {
  expectDType("matmul out", out, "f32");
  expectDType("matmul a", a, "f32");
  expectDType("matmul b", b, "f32", "f16", "bf16");
  if (a.shape.length < 2) throw new ShapeError(`matmul a must have at least 2 dims, got [${a.shape}]`);
  const lead = a.shape.slice(0, -2);
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const batch = numel(lead);
  let broadcast: boolean;
  if (b.shape.length === 2) broadcast = true;
  else if (b.shape.length === a.shape.length && sameShape(b.shape.slice(0, -2), lead)) broadcast = false;
  else {
    throw new ShapeError(
      `matmul b [${b.shape}] must be 2-D (a broadcast weight) or batched like a [${a.shape}] with leading dims [${lead}]`,
    );
  }
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [bk, n] = transB ? [b1, b0] : [b0, b1];
  if (bk !== k) {
    throw new ShapeError(
      `matmul inner dims differ: op(a) [${a.shape}]${transA ? "^T" : ""} has K=${k}, op(b) [${b.shape}]${transB ? "^T" : ""} has K=${bk}`,
    );
  }
  expectShape("matmul out", out, [...lead, m, n]);
  const alpha = opts.alpha ?? 1;
  const accumulate = opts.accumulate ?? false;
  return {
    m,
    n,
    k,
    batch,
    strideA: m * k,
    strideB: broadcast ? 0 : k * n,
    strideC: m * n,
    transA,
    transB,
    alpha,
    accumulate,
  };
}

export function checkAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lse: Tensor,
  opts: AttentionOptions,
): AttentionDims {
  if (q.shape.length !== 4) throw new ShapeError(`attention q must be (B, T, H, D), got [${q.shape}]`);
  if (k.shape.length !== 4) throw new ShapeError(`attention k must be (B, S, Hkv, D), got [${k.shape}]`);
  const [b, t, h, d] = q.shape as [number, number, number, number];
  const [kb, s, hkv, kd] = k.shape as [number, number, number, number];
  if (kb !== b || kd !== d) {
    throw new ShapeError(`attention k [${k.shape}] must be (B=${b}, S, Hkv, D=${d}) to match q [${q.shape}]`);
  }
  if (hkv === 0 || h % hkv !== 0) {
    throw new ShapeError(
      `attention: Hkv ${hkv} (k [${k.shape}]) does not divide H ${h}: choose a divisor of ${h}`,
    );
  }
  expectShape("attention v", v, k.shape);
  expectDType("attention q", q, "f32");
  expectDType("attention k", k, "f32", "f16", "bf16");
  expectDType("attention v", v, "f32", "f16", "bf16");
  expectShape("attention lse", lse, [b, h, t]);
  expectDType("attention lse", lse, "f32");
  return { b, t, s, h, hkv, d, scale: opts.scale ?? 1 / Math.sqrt(d), causal: opts.causal ?? false };
}

/** Ids/targets must be i32 with n elements, each in [lo, hi). Reads them: the CPU can afford it. */
export function checkIds(
  what: string,
  ids: Tensor,
  values: Int32Array,
  range: { lo: number; hi: number },
): void {
  expectDType(what, ids, "i32");
  for (let i = 0; i < values.length; i++) {
    const id = values[i]!;
    if (id < range.lo || id >= range.hi) {
      throw new ShapeError(
        `${what}[${i}] = ${id} is outside [${range.lo}, ${range.hi}): fix the data or the vocab size`,
      );
    }
  }
}

export function checkFloat32(what: string, ...ts: Tensor[]): void {
  for (const t of ts) expectDType(what, t, "f32");
}
