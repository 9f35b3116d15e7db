// Fused attention forward, flash style: for one (batch, K/V head, tile of BR stacked query rows)
// item, K^T and V tiles are packed once for all query heads of the group (GQA/MQA), scores come
// from the GEMM micro-kernel, and an online softmax keeps running max/sum per row. Writes out
// (B, T, H, D) and lse (B, H, T); rows that see no key get out 0 and lse -inf. K/V may be
// f16/bf16 storage (kvType), widened while packing.
import { at, cdiv, imin, laneSum, nextItem, roundUp, TY_F32, transpose4Store } from "./common";
import { gemmPacked, gemmStridedB, NR } from "./matmul";
import {
  BR,
  fillKeyRows,
  fillPagedKeyRows,
  fillQueryRows,
  keyBlock,
  lseOffset,
  packRowsA,
  packRowsB,
  packRowsBT,
  pagedLseOffset,
  row,
  visible,
} from "./attention-pack";
import { exp4 } from "./vmath";

/** Largest head dim the tiles are sized for. */
export const MAX_HEAD_DIM: i32 = 512;

// Scratch regions (bytes, in order): row tables qTab (BR) and kTab (bc), packed Q (BR x dp),
// K^T (bc x dp), V (bc x dp), P (BR x bc), scores (BR x bc), O (BR x dp), m, l (BR), tmp.
// Offsets are in floats from the scratch base; region `which` in the order above (11 = end).
function fwdRegion(base: usize, d: i32, bc: i32, which: i32): usize {
  const dp = roundUp(d, NR);
  let off: i32 = 0;
  if (which > 0) off += BR;
  if (which > 1) off += bc;
  if (which > 2) off += BR * dp;
  if (which > 3) off += bc * dp;
  if (which > 4) off += bc * dp;
  if (which > 5) off += BR * bc;
  if (which > 6) off += BR * bc;
  if (which > 7) off += BR * dp;
  if (which > 8) off += BR;
  if (which > 9) off += BR;
  if (which > 10) off += 64;
  return at(base, off);
}

/** Scratch bytes one thread needs for the forward with head dim d. */
export function attentionScratchBytes(d: i32): i32 {
  return <i32>fwdRegion(0, d, keyBlock(d), 11);
}

// One row's online-softmax step over `cols` scores at sc (masked beyond nVis): updates m, l,
// leaves P = exp(s - m) in place (0 where masked) and returns the factor for the old O.
function softmaxRow(sc: usize, cols: i32, nVis: i32, mPtr: usize, lPtr: usize): f32 {
  const c4 = roundUp(cols, 4);
  for (let j = nVis; j < c4; j++) store<f32>(at(sc, j), -Infinity);
  let mx = f32x4.splat(-Infinity);
  for (let j: i32 = 0; j < c4; j += 4) mx = f32x4.pmax(mx, v128.load(at(sc, j)));
  mx = f32x4.pmax(mx, v128.shuffle<f32>(mx, mx, 2, 3, 0, 1));
  mx = f32x4.pmax(mx, v128.shuffle<f32>(mx, mx, 1, 0, 3, 2));
  const blockMax = f32x4.extract_lane(mx, 0);
  const mOld = load<f32>(mPtr);
  const mNew = blockMax > mOld ? blockMax : mOld;
  if (mNew == -Infinity) {
    for (let j: i32 = 0; j < c4; j++) store<f32>(at(sc, j), 0);
    return 1;
  }
  const sub = f32x4.splat(mNew);
  let sum = f32x4.splat(0);
  for (let j: i32 = 0; j < c4; j += 4) {
    const p = exp4(f32x4.sub(v128.load(at(sc, j)), sub));
    v128.store(at(sc, j), p);
    sum = f32x4.add(sum, p);
  }
  const corr = f32x4.extract_lane(exp4(f32x4.splat(mOld - mNew)), 0);
  store<f32>(mPtr, mNew);
  store<f32>(lPtr, load<f32>(lPtr) * corr + laneSum(sum));
  return corr;
}

@inline function scaleRow(p: usize, n: i32, f: f32): void {
  const v = f32x4.splat(f);
  for (let j: i32 = 0; j < n; j += 4) v128.store(at(p, j), f32x4.mul(v128.load(at(p, j)), v));
}

/** The query-row table of a thread's scratch (the rows of the item being attended). */
export function queryTable(scratch: usize, d: i32): usize {
  return fwdRegion(scratch, d, keyBlock(d), 0);
}

/**
 * This thread's share of one attention forward (q, k, v, out, lse byte addresses; f32).
 * Items: (batch, K/V head, block of BR stacked rows r = t * g + head-in-group), heaviest first.
 */
export function attentionJob(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  batch: i32,
  t: i32,
  s: i32,
  h: i32,
  hkv: i32,
  d: i32,
  scale: f32,
  causal: i32,
  kvType: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const g = h / hkv;
  const qTab = queryTable(scratch, d);
  const blocks = cdiv(t * g, BR);
  const count = batch * hkv * blocks;
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const blk = blocks - 1 - (item % blocks);
    const pair = item / blocks;
    const bi = pair / hkv;
    const hk = pair - bi * hkv;
    const r0 = blk * BR;
    const rows = imin(BR, t * g - r0);
    fillQueryRows(qTab, r0, rows, bi, hk, g, t, h, d);
    attendRows(q, k, v, out, lse, r0, rows, bi, hk, g, t, s, h, hkv, d, scale, causal != 0, kvType, 0, 0, 0, 0, s, 0, 1, 0, scratch);
  }
}

/**
 * The stacked query rows r0..r0+rows of one (sequence, K/V head) item, their row table filled at
 * queryTable(scratch, d), against keys ks..ke of 0..s (causal: row t sees keys up to t + s - tq).
 * Keys are rows of batch entry `bi` (contiguous, tables == 0) or, paged, slots of the sequence's
 * pages listed at `tables` (i32 block ids, pages of bs slots). Writes out and lse, at (B, H, T)
 * (dense) or, paged, (N, H) with the sequence's rows from q0; or, with `partials`, split sp of
 * nSplit's (m, l, unnormalized o[d]) of each (row, head) at ((row * h + head) * nSplit + sp) *
 * (d + 2) (paged; pagedCombineJob merges them).
 */
export function attendRows(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  r0: i32,
  rows: i32,
  bi: i32,
  hk: i32,
  g: i32,
  t: i32,
  s: i32,
  h: i32,
  hkv: i32,
  d: i32,
  scale: f32,
  isCausal: bool,
  kvType: i32,
  tables: usize,
  bs: i32,
  q0: i32,
  ks: i32,
  ke: i32,
  partials: usize,
  nSplit: i32,
  sp: i32,
  scratch: usize,
): void {
  const bc = keyBlock(d);
  const dp = roundUp(d, NR);
  const qTab = fwdRegion(scratch, d, bc, 0);
  const kTab = fwdRegion(scratch, d, bc, 1);
  const qp = fwdRegion(scratch, d, bc, 2);
  const kp = fwdRegion(scratch, d, bc, 3);
  const vp = fwdRegion(scratch, d, bc, 4);
  const pp = fwdRegion(scratch, d, bc, 5);
  const sc = fwdRegion(scratch, d, bc, 6);
  const o = fwdRegion(scratch, d, bc, 7);
  const mArr = fwdRegion(scratch, d, bc, 8);
  const lArr = fwdRegion(scratch, d, bc, 9);
  const tmp = fwdRegion(scratch, d, bc, 10);
  const paged = tables != 0;
  // decode-like items (a few query rows): reading V in place beats packing it (contiguous rows only)
  const few = !paged && rows <= FEW_ROWS && (d & (NR - 1)) == 0 && kvType == TY_F32;
  packRowsA(q, qTab, rows, d, qp);
  for (let r: i32 = 0; r < rows; r++) {
    store<f32>(at(mArr, r), -Infinity);
    store<f32>(at(lArr, r), 0);
  }
  memory.fill(o, 0, <usize>(rows * dp) << 2);
  const kEnd = imin(ke, visible((r0 + rows - 1) / g, t, s, isCausal));
  for (let s0: i32 = ks; s0 < kEnd; s0 += bc) {
    const cols = imin(bc, kEnd - s0);
    if (paged) fillPagedKeyRows(kTab, s0, cols, tables, bs, hk, hkv, d);
    else fillKeyRows(kTab, s0, cols, bi, hk, s, hkv, d);
    packRowsBT(k, kTab, cols, d, kp, kvType);
    gemmPacked(qp, kp, rows, cols, d, sc, bc, scale, false, tmp);
    for (let r: i32 = 0; r < rows; r++) {
      const nVis = visible((r0 + r) / g, t, s, isCausal) - s0;
      const corr = softmaxRow(at(sc, r * bc), cols, imin(imax0(nVis), cols), at(mArr, r), at(lArr, r));
      if (corr != 1) scaleRow(at(o, r * dp), dp, corr);
    }
    packScoresA(sc, rows, cols, bc, pp);
    if (few) {
      // V read in place (rows hkv * d floats apart): no V packing for a handful of query rows
      const vRow = row(v, kTab, 0);
      gemmStridedB(pp, vRow, <usize>(hkv * d) << 2, rows, d, cols, o, dp, 1, true, tmp);
    } else {
      packRowsB(v, kTab, cols, d, vp, kvType);
      gemmPacked(pp, vp, rows, d, cols, o, dp, 1, true, tmp);
    }
  }
  if (partials != 0) {
    for (let r: i32 = 0; r < rows; r++) {
      const dst = at(partials, (pagedLseOffset(q0, r0 + r, hk, g, h) * nSplit + sp) * (d + 2));
      store<f32>(dst, load<f32>(at(mArr, r)));
      store<f32>(at(dst, 1), load<f32>(at(lArr, r)));
      memory.copy(at(dst, 2), at(o, r * dp), <usize>d << 2);
    }
    return;
  }
  for (let r: i32 = 0; r < rows; r++) {
    const l = load<f32>(at(mArr, r)) == -Infinity ? <f32>0 : load<f32>(at(lArr, r));
    const inv: f32 = l > 0 ? 1 / l : 0;
    const dst = row(out, qTab, r);
    const src = at(o, r * dp);
    for (let j: i32 = 0; j < d; j++) store<f32>(at(dst, j), load<f32>(at(src, j)) * inv);
    const lv: f32 = l > 0 ? load<f32>(at(mArr, r)) + Mathf.log(l) : -Infinity;
    const li = paged ? pagedLseOffset(q0, r0 + r, hk, g, h) : lseOffset(bi, r0 + r, hk, g, t, h);
    store<f32>(at(lse, li), lv);
  }
}

/** Up to this many query rows per item, V is read in place instead of packed. */
const FEW_ROWS: i32 = 4;

@inline function imax0(x: i32): i32 {
  return x < 0 ? 0 : x;
}

/** A panels [cols][MR] of the score tile (rows x cols, row stride ld elements). */
export function packScoresA(sc: usize, rows: i32, cols: i32, ld: i32, dst: usize): void {
  for (let p: i32 = 0; p < rows; p += 4) {
    const n = imin(4, rows - p);
    const outp = dst + <usize>(p * cols) * 4;
    let kk: i32 = 0;
    if (n == 4) {
      const r0 = at(sc, p * ld);
      const st = <usize>ld << 2;
      for (; kk + 4 <= cols; kk += 4) {
        const o = <usize>kk << 2;
        transpose4Store(v128.load(r0 + o), v128.load(r0 + st + o), v128.load(r0 + 2 * st + o), v128.load(r0 + 3 * st + o), outp + (o << 2), 16);
      }
    }
    for (; kk < cols; kk++) {
      for (let r: i32 = 0; r < 4; r++) store<f32>(at(outp, kk * 4 + r), r < n ? load<f32>(at(sc, (p + r) * ld + kk)) : 0);
    }
  }
}
