// Small-M matmul with B stored (N, K) (the nn.Linear layout at decode: M = a few tokens):
// C[i, j] = alpha * A[i, :] . B[j, :] (+ C). Streams B once, 4 rows at a time, with no packing
// (the packed GEMM would copy all of B to use each element only M times). B may be f16/bf16:
// half the bytes streamed, widened in registers.
// matmul.ts's matmulJob picks this path and hands out its items.
import {
  at,
  bType,
  cdiv,
  dot,
  eshT,
  FLAG_ACCUMULATE,
  FLAG_TRANS_A,
  imax,
  ld1,
  ld4,
  madd,
  roundUp,
  TY_F16,
  TY_F32,
} from "./common";

/** Largest M this path takes. */
export const GEMV_MAX_M: i32 = 4;

// [sum(a), sum(b), sum(c), sum(d)] of four f32x4 accumulators.
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

// Four dot products of f32 row x with rows b0 (and the next three, ldb bytes apart) of storage
// marker T over k.
@inline function dot4<T>(x: usize, b0: usize, ldb: usize, k: i32): v128 {
  const es = eshT<T>();
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const b1 = b0 + ldb;
  const b2 = b1 + ldb;
  const b3 = b2 + ldb;
  const k4 = k & ~3;
  for (let kk: i32 = 0; kk < k4; kk += 4) {
    const xv = v128.load(at(x, kk));
    const o = <usize>kk << es;
    s0 = madd(xv, ld4<T>(b0 + o), s0);
    s1 = madd(xv, ld4<T>(b1 + o), s1);
    s2 = madd(xv, ld4<T>(b2 + o), s2);
    s3 = madd(xv, ld4<T>(b3 + o), s3);
  }
  let r = hsum4(s0, s1, s2, s3);
  for (let kk = k4; kk < k; kk++) {
    const xv = f32x4.splat(load<f32>(at(x, kk)));
    const o = <usize>kk << es;
    const bv = f32x4(ld1<T>(b0 + o), ld1<T>(b1 + o), ld1<T>(b2 + o), ld1<T>(b3 + o));
    r = f32x4.add(r, f32x4.mul(xv, bv));
  }
  return r;
}

// Columns [n0, n0 + nw) of C for the m rows of A (already contiguous [m][k] at x); B of marker
// T. With 16-bit B and several rows, each group of 4 B rows is widened once into `wide` first.
function gemvColumns<T>(
  x: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  n0: i32,
  nw: i32,
  alpha: f32,
  acc: bool,
  wide: usize,
): void {
  const es = eshT<T>();
  const ldb = <usize>k << es;
  const al = f32x4.splat(alpha);
  const widen = sizeof<T>() == 2 && m > 1;
  let j = n0;
  for (; j + 4 <= n0 + nw; j += 4) {
    const bj = b + (<usize>(j * k) << es);
    if (widen) widenRows<T>(bj, k, wide);
    for (let i: i32 = 0; i < m; i++) {
      const dst = at(c, i * n + j);
      const d4 = widen ? dot4<f32>(at(x, i * k), wide, <usize>k << 2, k) : dot4<T>(at(x, i * k), bj, ldb, k);
      let r = f32x4.mul(d4, al);
      if (acc) r = f32x4.add(r, v128.load(dst));
      v128.store(dst, r);
    }
  }
  for (; j < n0 + nw; j++) {
    for (let i: i32 = 0; i < m; i++) {
      const dst = at(c, i * n + j);
      const r = alpha * dot<T>(at(x, i * k), b + (<usize>(j * k) << es), k);
      store<f32>(dst, acc ? load<f32>(dst) + r : r);
    }
  }
}

// 4 consecutive rows of k elements of marker T at b -> f32 [4][k] at dst.
function widenRows<T>(b: usize, k: i32, dst: usize): void {
  const es = eshT<T>();
  const n = 4 * k;
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), ld4<T>(b + (<usize>i << es)));
  for (; i < n; i++) store<f32>(at(dst, i), ld1<T>(b + (<usize>i << es)));
}

/** Columns per item: at most 256, at least 16, and about 4 chunks per thread. */
export function gemvChunk(n: i32, threads: i32): i32 {
  const want = imax(threads * 4, cdiv(n, 256));
  return imax(16, roundUp(cdiv(n, want), 4));
}

/**
 * One item: columns [n0, n0 + nw) of one batch entry (a, b, c: its operands; flags as for
 * matmulJob). `fresh` when the entry is not the one of this thread's previous item: A's m rows
 * are then (re)gathered into scratch, contiguous [m][k] (a copy, or a gather when A is (K, M)).
 */
export function gemvItem(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  flags: i32,
  alpha: f32,
  n0: i32,
  nw: i32,
  scratch: usize,
  fresh: bool,
): void {
  if (fresh) {
    const transA = (flags & FLAG_TRANS_A) != 0;
    for (let i: i32 = 0; i < m; i++) {
      for (let kk: i32 = 0; kk < k; kk++) {
        store<f32>(at(scratch, i * k + kk), load<f32>(at(a, transA ? kk * m + i : i * k + kk)));
      }
    }
  }
  const acc = (flags & FLAG_ACCUMULATE) != 0;
  const ty = bType(flags);
  const wide = at(scratch, m * k);
  if (ty == TY_F32) gemvColumns<f32>(scratch, b, c, m, n, k, n0, nw, alpha, acc, wide);
  else if (ty == TY_F16) gemvColumns<i16>(scratch, b, c, m, n, k, n0, nw, alpha, acc, wide);
  else gemvColumns<u16>(scratch, b, c, m, n, k, n0, nw, alpha, acc, wide);
}
