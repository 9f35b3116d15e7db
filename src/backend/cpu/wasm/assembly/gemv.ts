// Small-M matmul with B stored (N, K) (the nn.Linear layout at decode: M = a few tokens):
// C[i, j] = alpha * A[i, :] . B[j, :] (+ C). Streams B once, 4 rows at a time, with no packing
// (the packed GEMM would copy all of B to use each element only M times). f32 B only.
import { at, cdiv, imax, imin, nextItem, roundUp } from "./common";
import { FLAG_ACCUMULATE, FLAG_TRANS_A, madd } from "./matmul";

/** Largest M this path takes. */
export const GEMV_MAX_M: i32 = 4;

// [sum(a), sum(b), sum(c), sum(d)] of four f32x4 accumulators.
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

// Four dot products of row x with rows b0 (and the next three, ldb bytes apart) over k.
@inline function dot4(x: usize, b0: usize, ldb: usize, k: i32): v128 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const b1 = b0 + ldb;
  const b2 = b1 + ldb;
  const b3 = b2 + ldb;
  let p: usize = 0;
  const end = <usize>(k & ~3) << 2;
  for (; p < end; p += 16) {
    const xv = v128.load(x + p);
    s0 = madd(xv, v128.load(b0 + p), s0);
    s1 = madd(xv, v128.load(b1 + p), s1);
    s2 = madd(xv, v128.load(b2 + p), s2);
    s3 = madd(xv, v128.load(b3 + p), s3);
  }
  let r = hsum4(s0, s1, s2, s3);
  for (let kk = k & ~3; kk < k; kk++) {
    const xv = f32x4.splat(load<f32>(at(x, kk)));
    const bv = f32x4(load<f32>(at(b0, kk)), load<f32>(at(b1, kk)), load<f32>(at(b2, kk)), load<f32>(at(b3, kk)));
    r = f32x4.add(r, f32x4.mul(xv, bv));
  }
  return r;
}

@inline function dot1(x: usize, b: usize, k: i32): f32 {
  let s = f32x4.splat(0);
  let kk: i32 = 0;
  for (; kk + 4 <= k; kk += 4) s = f32x4.add(s, f32x4.mul(v128.load(at(x, kk)), v128.load(at(b, kk))));
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; kk < k; kk++) r += load<f32>(at(x, kk)) * load<f32>(at(b, kk));
  return r;
}

// Columns [n0, n0 + nw) of C for the m rows of A (already contiguous [m][k] at x).
function gemvItem(x: usize, b: usize, c: usize, m: i32, n: i32, k: i32, n0: i32, nw: i32, alpha: f32, acc: bool): void {
  const ldb = <usize>k << 2;
  const al = f32x4.splat(alpha);
  let j = n0;
  for (; j + 4 <= n0 + nw; j += 4) {
    const bj = at(b, j * k);
    for (let i: i32 = 0; i < m; i++) {
      const dst = at(c, i * n + j);
      let r = f32x4.mul(dot4(at(x, i * k), bj, ldb, k), al);
      if (acc) r = f32x4.add(r, v128.load(dst));
      v128.store(dst, r);
    }
  }
  for (; j < n0 + nw; j++) {
    for (let i: i32 = 0; i < m; i++) {
      const dst = at(c, i * n + j);
      const r = alpha * dot1(at(x, i * k), at(b, j * k), k);
      store<f32>(dst, acc ? load<f32>(dst) + r : r);
    }
  }
}

/** This thread's share of a small-M (<= GEMV_MAX_M), B-transposed, f32 matmul job. */
export function gemvJob(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  batch: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  flags: i32,
  alpha: f32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const transA = (flags & FLAG_TRANS_A) != 0;
  const acc = (flags & FLAG_ACCUMULATE) != 0;
  // column chunks: at most 256, at least 16, and about 4 per thread
  const want = imax(threads * 4, cdiv(n, 256));
  const nch = imax(16, roundUp(cdiv(n, want), 4));
  const chunks = cdiv(n, nch);
  const count = batch * chunks;
  let lastBatch: i32 = -1;
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const bi = item / chunks;
    const ci = item - bi * chunks;
    const ab = at(a, bi * strideA);
    if (bi != lastBatch) {
      // A's m rows, contiguous [m][k], in scratch (a copy, or a gather when A is stored (K, M))
      for (let i: i32 = 0; i < m; i++) {
        for (let kk: i32 = 0; kk < k; kk++) {
          store<f32>(at(scratch, i * k + kk), load<f32>(at(ab, transA ? kk * m + i : i * k + kk)));
        }
      }
      lastBatch = bi;
    }
    const n0 = ci * nch;
    gemvItem(scratch, at(b, bi * strideB), at(c, bi * strideC), m, n, k, n0, imin(nch, n - n0), alpha, acc);
  }
}
