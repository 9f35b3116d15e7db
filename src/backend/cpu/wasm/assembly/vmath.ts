// Vector maths of the wasm kernels (AssemblyScript, f32x4): e^x by Cody-Waite range reduction and
// a minimax polynomial (rel. error < 2e-7 on [-80, 88]; test/wasm/vmath.test.ts checks it against
// Math.exp), the logistic sigmoid built on it, and horizontal sum/max. Pure functions, no memory.
import { madd } from "./common";

/**
 * e^x per lane for x <= 88 (rel. error < 2e-7); lanes below -80 (and -inf) give exactly 0, NaN
 * gives 0. The cut keeps every intermediate a normal float: denormal products cost ~100x on x86
 * (wasm has no flush-to-zero), and e^-80 is far below f32 resolution next to e^0.
 * x = k ln2 + f with k = round(x / ln2) (1.5 * 2^23 added and removed rounds in one add, leaving k
 * in the low mantissa bits), f = x - k ln2 in two exact-then-rounded steps (Cody-Waite), e^f by
 * Cephes' expf polynomial, 2^k built in the exponent bits.
 */
@inline export function exp4(x: v128): v128 {
  const lo = f32x4.splat(-80.0);
  const keep = f32x4.ge(x, lo);
  const xc = f32x4.pmax(x, lo);
  const magic = f32x4.splat(12582912.0);
  const r = f32x4.add(f32x4.mul(xc, f32x4.splat(1.4426950408889634)), magic);
  const k = f32x4.sub(r, magic);
  let f = f32x4.sub(xc, f32x4.mul(k, f32x4.splat(0.693359375)));
  f = f32x4.add(f, f32x4.mul(k, f32x4.splat(2.12194440e-4)));
  const z = f32x4.mul(f, f);
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, f, f32x4.splat(1.3981999507e-3));
  p = madd(p, f, f32x4.splat(8.3334519073e-3));
  p = madd(p, f, f32x4.splat(4.1665795894e-2));
  p = madd(p, f, f32x4.splat(1.6666665459e-1));
  p = madd(p, f, f32x4.splat(5.0000001201e-1));
  p = madd(p, z, f32x4.add(f, f32x4.splat(1.0)));
  const scale = i32x4.shl(i32x4.add(i32x4.sub(r, magic), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(p, scale), keep);
}

/** Scalar e^x through exp4 (same rounding as the vector path). */
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/**
 * 1 / (1 + e^-g) per lane, from e = e^-|g| (never overflows): 1 / (1 + e) for g >= 0, else
 * e / (1 + e). Below g = -80 it gives 0 (true value < 2e-35).
 */
@inline export function sigmoid4(g: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(g)));
  const r = f32x4.div(f32x4.splat(1.0), f32x4.add(e, f32x4.splat(1.0)));
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(g, f32x4.splat(0)));
}

/** Sum of the four lanes. */
@inline export function hsum4(x: v128): f32 {
  const s = f32x4.add(x, v128.shuffle<f32>(x, x, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** Maximum of the four lanes (NaN if any lane is NaN). */
@inline export function hmax4(x: v128): f32 {
  const m = f32x4.max(x, v128.shuffle<f32>(x, x, 2, 3, 0, 1));
  return max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

/** Writes e^x for n floats from src to dst: a probe for tests (one item, one thread). */
export function expProbeJob(src: usize, dst: usize, n: i32, counter: usize, threads: i32, scratch: usize): void {
  if (atomic.add<i32>(counter, 1) != 0) return;
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), exp4(v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), exp1(load<f32>(src + (<usize>i << 2))));
}
