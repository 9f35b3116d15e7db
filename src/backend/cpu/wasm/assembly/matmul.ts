// f32 GEMM: C(batch; M, N) = alpha * op(A) @ op(B) (+ C if accumulate), GotoBLAS-style:
// the job is cut into (batch, row-chunk, column-chunk) items drawn from a shared counter; each
// item packs K-blocks of op(B) into NR-wide panels and of op(A) into MR-tall panels (thread
// scratch) and runs a 4x8 register-blocked f32x4 micro-kernel. Operands are byte addresses;
// B may be f16/bf16 storage, widened to f32 while packing. Small M with B stored (N, K) takes
// the streaming path of gemv.ts instead.
import {
  at,
  bType,
  cdiv,
  esh,
  eshT,
  FLAG_ACCUMULATE,
  FLAG_TRANS_A,
  FLAG_TRANS_B,
  imin,
  ld1,
  ld4,
  madd,
  nextItem,
  roundUp,
  TY_F16,
  TY_F32,
  transpose4Store,
} from "./common";
import { GEMV_MAX_M, gemvChunk, gemvItem } from "./gemv";

export const MR: i32 = 4;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const MCH_MAX: i32 = 512;
const NCH_MAX: i32 = 512;

/** Bytes of scratch one thread needs: packed A (MC x KC), packed B (KC x NCH_MAX), a C tile. */
export const MATMUL_SCRATCH: i32 = (MC * KC + KC * NCH_MAX + MR * NR) * 4;

// op(A) rows [i0, i0 + mb) x cols [k0, k0 + kb) -> MR-row panels, each laid out [kb][MR].
function packA(a: usize, transA: bool, m: i32, k: i32, i0: i32, mb: i32, k0: i32, kb: i32, dst: usize): void {
  for (let p: i32 = 0; p < mb; p += MR) {
    const rows = imin(MR, mb - p);
    const out = dst + <usize>(p * kb) * 4;
    const r0 = i0 + p;
    if (!transA) {
      let kk: i32 = 0;
      if (rows == MR) {
        const s0 = at(a, r0 * k + k0);
        const ld = <usize>k << 2;
        for (; kk + 4 <= kb; kk += 4) {
          const o = <usize>kk << 2;
          transpose4Store(
            v128.load(s0 + o),
            v128.load(s0 + ld + o),
            v128.load(s0 + 2 * ld + o),
            v128.load(s0 + 3 * ld + o),
            out + (o << 2),
            16,
          );
        }
      }
      for (; kk < kb; kk++) {
        for (let r: i32 = 0; r < MR; r++) {
          const v: f32 = r < rows ? load<f32>(at(a, (r0 + r) * k + k0 + kk)) : 0;
          store<f32>(at(out, kk * MR + r), v);
        }
      }
    } else {
      for (let kk: i32 = 0; kk < kb; kk++) {
        const src = at(a, (k0 + kk) * m + r0);
        if (rows == MR) {
          v128.store(at(out, kk * MR), v128.load(src));
        } else {
          for (let r: i32 = 0; r < MR; r++) store<f32>(at(out, kk * MR + r), r < rows ? load<f32>(at(src, r)) : 0);
        }
      }
    }
  }
}

/** One k-row of an NR-column panel: `cols` elements of marker T at src, widened, zero-padded to NR. */
@inline export function panelRow<T>(src: usize, cols: i32, dst: usize): void {
  const es = eshT<T>();
  if (cols == NR) {
    v128.store(dst, ld4<T>(src));
    v128.store(dst, ld4<T>(src + (<usize>4 << es)), 16);
  } else {
    for (let c: i32 = 0; c < NR; c++) store<f32>(at(dst, c), c < cols ? ld1<T>(src + (<usize>c << es)) : 0);
  }
}

// op(B) rows [k0, k0 + kb) x cols [j0, j0 + nw) -> NR-column panels, each laid out [kb][NR];
// B is stored as marker T (f32; i16 = f16; u16 = bf16) and widened to f32 here.
function packBT<T>(
  b: usize,
  transB: bool,
  n: i32,
  k: i32,
  j0: i32,
  nw: i32,
  k0: i32,
  kb: i32,
  dst: usize,
): void {
  const es = eshT<T>();
  for (let p: i32 = 0; p < nw; p += NR) {
    const cols = imin(NR, nw - p);
    const out = dst + <usize>(p * kb) * 4;
    const c0 = j0 + p;
    if (!transB) {
      for (let kk: i32 = 0; kk < kb; kk++) {
        panelRow<T>(b + (<usize>((k0 + kk) * n + c0) << es), cols, at(out, kk * NR));
      }
    } else {
      let kk: i32 = 0;
      if (cols == NR) {
        const s0 = b + (<usize>(c0 * k + k0) << es);
        const ld = <usize>k << es;
        for (; kk + 4 <= kb; kk += 4) {
          const o = <usize>kk << es;
          const d = out + (<usize>kk << 5);
          transpose4Store(ld4<T>(s0 + o), ld4<T>(s0 + ld + o), ld4<T>(s0 + 2 * ld + o), ld4<T>(s0 + 3 * ld + o), d, 32);
          const s4 = s0 + 4 * ld;
          transpose4Store(ld4<T>(s4 + o), ld4<T>(s4 + ld + o), ld4<T>(s4 + 2 * ld + o), ld4<T>(s4 + 3 * ld + o), d + 16, 32);
        }
      }
      for (; kk < kb; kk++) {
        for (let c: i32 = 0; c < NR; c++) {
          const v: f32 = c < cols ? ld1<T>(b + (<usize>((c0 + c) * k + k0 + kk) << es)) : 0;
          store<f32>(at(out, kk * NR + c), v);
        }
      }
    }
  }
}

function packB(b: usize, transB: bool, n: i32, k: i32, j0: i32, nw: i32, k0: i32, kb: i32, dst: usize, ty: i32): void {
  if (ty == TY_F32) packBT<f32>(b, transB, n, k, j0, nw, k0, kb, dst);
  else if (ty == TY_F16) packBT<i16>(b, transB, n, k, j0, nw, k0, kb, dst);
  else packBT<u16>(b, transB, n, k, j0, nw, k0, kb, dst);
}

@inline function tileRow(c: usize, lo: v128, hi: v128, alpha: v128, beta: bool): void {
  let x = f32x4.mul(lo, alpha);
  let y = f32x4.mul(hi, alpha);
  if (beta) {
    x = f32x4.add(x, v128.load(c));
    y = f32x4.add(y, v128.load(c, 16));
  }
  v128.store(c, x);
  v128.store(c, y, 16);
}

// C[rows x cols] (row stride ldc elements) (+)= alpha * Apanel @ Bpanel over kb; B's k-rows of
// 8 floats are ldb bytes apart (32 for a packed panel, or a row stride to read B in place).
export function kernel4x8(
  ap: usize,
  bp: usize,
  ldb: usize,
  kb: i32,
  c: usize,
  ldc: i32,
  rows: i32,
  cols: i32,
  alpha: f32,
  beta: bool,
  tmp: usize,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  for (let kk: i32 = 0; kk < kb; kk++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += ldb;
  }
  const al = f32x4.splat(alpha);
  const ldcb = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    tileRow(c, c00, c01, al, beta);
    tileRow(c + ldcb, c10, c11, al, beta);
    tileRow(c + 2 * ldcb, c20, c21, al, beta);
    tileRow(c + 3 * ldcb, c30, c31, al, beta);
    return;
  }
  tileRow(tmp, c00, c01, al, false);
  tileRow(tmp + 32, c10, c11, al, false);
  tileRow(tmp + 64, c20, c21, al, false);
  tileRow(tmp + 96, c30, c31, al, false);
  for (let r: i32 = 0; r < rows; r++) {
    for (let j: i32 = 0; j < cols; j++) {
      const dst = at(c, r * ldc + j);
      const v = load<f32>(at(tmp, r * NR + j));
      store<f32>(dst, beta ? load<f32>(dst) + v : v);
    }
  }
}

/**
 * C (mRows x nCols, row stride ldc elements) = alpha * A @ B (+ C if beta), from A packed in
 * MR-row panels [kb][MR] at `ap` and B packed in NR-column panels [kb][NR] at `bp`.
 */
export function gemmPacked(
  ap: usize,
  bp: usize,
  mRows: i32,
  nCols: i32,
  kb: i32,
  c: usize,
  ldc: i32,
  alpha: f32,
  beta: bool,
  tmp: usize,
): void {
  for (let jr: i32 = 0; jr < nCols; jr += NR) {
    const b = bp + <usize>(jr * kb) * 4;
    const cols = imin(NR, nCols - jr);
    for (let ir: i32 = 0; ir < mRows; ir += MR) {
      kernel4x8(ap + <usize>(ir * kb) * 4, b, 32, kb, at(c, ir * ldc + jr), ldc, imin(MR, mRows - ir), cols, alpha, beta, tmp);
    }
  }
}

/**
 * Like gemmPacked, but B is read in place: k-row kk of B starts at b + kk * ldbBytes and holds
 * nCols floats (nCols a multiple of NR, so no read goes past a row).
 */
export function gemmStridedB(
  ap: usize,
  b: usize,
  ldbBytes: usize,
  mRows: i32,
  nCols: i32,
  kb: i32,
  c: usize,
  ldc: i32,
  alpha: f32,
  beta: bool,
  tmp: usize,
): void {
  for (let jr: i32 = 0; jr < nCols; jr += NR) {
    for (let ir: i32 = 0; ir < mRows; ir += MR) {
      const a = ap + <usize>(ir * kb) * 4;
      kernel4x8(a, at(b, jr), ldbBytes, kb, at(c, ir * ldc + jr), ldc, imin(MR, mRows - ir), NR, alpha, beta, tmp);
    }
  }
}

/** Multiplies one item: rows [m0, m0 + mh) x cols [n0, n0 + nw) of one batch entry. */
function matmulItem(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  flags: i32,
  alpha: f32,
  m0: i32,
  mh: i32,
  n0: i32,
  nw: i32,
  scratch: usize,
): void {
  const transA = (flags & FLAG_TRANS_A) != 0;
  const transB = (flags & FLAG_TRANS_B) != 0;
  const acc = (flags & FLAG_ACCUMULATE) != 0;
  const aPack = scratch;
  const bPack = aPack + <usize>(MC * KC) * 4;
  const tmp = bPack + <usize>(KC * NCH_MAX) * 4;
  if (k == 0) {
    if (!acc) for (let i: i32 = 0; i < mh; i++) memory.fill(at(c, (m0 + i) * n + n0), 0, <usize>nw << 2);
    return;
  }
  for (let k0: i32 = 0; k0 < k; k0 += KC) {
    const kb = imin(KC, k - k0);
    const beta = acc || k0 > 0;
    packB(b, transB, n, k, n0, nw, k0, kb, bPack, bType(flags));
    for (let i0: i32 = 0; i0 < mh; i0 += MC) {
      const mb = imin(MC, mh - i0);
      packA(a, transA, m, k, m0 + i0, mb, k0, kb, aPack);
      gemmPacked(aPack, bPack, mb, nw, kb, at(c, (m0 + i0) * n + n0), n, alpha, beta, tmp);
    }
  }
}

/**
 * Runs this thread's share of one matmul job. Every thread of the job calls it with the same
 * arguments except `scratch` (its own MATMUL_SCRATCH bytes, always the last argument); `counter`
 * (i32, zeroed by the caller before the job) hands out the items. Strides are in elements; strideB 0 broadcasts B.
 * Small M with B stored (N, K) (decode) takes the streaming gemv path, everything else the packed
 * GEMM: the choice depends only on the shapes, so results do not depend on the thread count.
 */
export function matmulJob(
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
  if (m <= 0 || n <= 0 || batch <= 0) return;
  const gemv = m <= GEMV_MAX_M && (flags & FLAG_TRANS_B) != 0 && (m + 4) * k * 4 <= MATMUL_SCRATCH;
  let mch = m; // gemv items take all m rows
  let nch = 0;
  if (gemv) {
    nch = gemvChunk(n, threads);
  } else {
    // near-equal chunks of at most *_MAX (e.g. 768 -> 2 x 384, not 512 + 256), so threads balance
    mch = roundUp(cdiv(m, cdiv(m, MCH_MAX)), MR);
    nch = roundUp(cdiv(n, cdiv(n, NCH_MAX)), NR);
    // about 4 items per thread, so a worker that joins late still gets a fair share
    const target = threads > 1 ? threads * 4 : 1;
    while (batch * cdiv(m, mch) * cdiv(n, nch) < target) {
      if (mch >= nch && mch > 2 * MR) mch = roundUp(mch >> 1, MR);
      else if (nch > 2 * NR) nch = roundUp(nch >> 1, NR);
      else break;
    }
  }
  const mItems = cdiv(m, mch);
  const nItems = cdiv(n, nch);
  const perBatch = mItems * nItems;
  const count = batch * perBatch;
  let lastBatch: i32 = -1;
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const bi = item / perBatch;
    const r = item - bi * perBatch;
    const mi = r / nItems;
    const ni = r - mi * nItems;
    const m0 = mi * mch;
    const n0 = ni * nch;
    const ab = at(a, bi * strideA);
    const bb = b + (<usize>(bi * strideB) << esh(bType(flags)));
    const cb = at(c, bi * strideC);
    const nw = imin(nch, n - n0);
    if (gemv) gemvItem(ab, bb, cb, m, n, k, flags, alpha, n0, nw, scratch, bi != lastBatch);
    else matmulItem(ab, bb, cb, m, n, k, flags, alpha, m0, imin(mch, m - m0), n0, nw, scratch);
    lastBatch = bi;
  }
}
