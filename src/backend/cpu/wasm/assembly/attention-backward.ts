// Fused attention backward by recomputation from lse, in two kinds of items of one job so that
// no two threads write the same output (no atomics, deterministic):
//   key items   (batch, K/V head, block of keys):  P^T, dV += P^T dO, dS^T, dK += scale dS^T Q
//   query items (batch, K/V head, block of stacked query rows): P, dS, dQ = scale dS K
// with P = exp(scale q.k - lse), dS = P (dO.v - delta), delta = rowsum(dO * O).
// With a dQ partials buffer (dqPartials != 0) there are no query items: each key item also writes
// its block's term scale dS K of every query row it sees, and attentionDqReduceJob adds the terms
// in key-block order into dq (the same sums as the query items, without computing P twice).
// dq is overwritten; dk/dv (f32) are overwritten, or accumulated when accumulateKV. K/V may be
// f16/bf16 storage (kvType), widened while packing.
import { at, cdiv, dot, imin, nextItem, roundUp } from "./common";
import { gemmPacked, NR } from "./matmul";
import {
  BR,
  fillKeyRows,
  fillQueryRows,
  keyBlock,
  lseOffset,
  packRowsA,
  packRowsB,
  packRowsBT,
  qRowOffset,
  row,
  visible,
} from "./attention-pack";
import { exp4 } from "./vmath";
import { packScoresA } from "./attention";

/** One job's operands (byte addresses) and geometry, at the head of each thread's scratch. */
@unmanaged class Args {
  dq: usize;
  dk: usize;
  dv: usize;
  dOut: usize;
  q: usize;
  k: usize;
  v: usize;
  out: usize;
  lse: usize;
  partials: usize; // dQ partials buffer, or 0
  t: i32;
  s: i32;
  h: i32;
  hkv: i32;
  d: i32;
  g: i32; // query heads per K/V head
  bc: i32; // keys per tile
  dp: i32; // d rounded up to NR
  ty: i32; // K/V storage type
  scale: f32;
  causal: bool;
  accKV: bool;
}

/** Scratch bytes reserved for Args (a multiple of 64, so the tiles after it stay aligned). */
const ARGS_BYTES: i32 = 128;

/** Scratch bytes one thread needs for the backward with head dim d (the larger item kind). */
export function attentionBackwardScratchBytes(d: i32): i32 {
  const bc = keyBlock(d);
  const dp = roundUp(d, NR);
  const keyItem = bc + BR + 5 * bc * dp + BR * dp + 3 * bc * BR + 3 * BR + 64;
  const queryItem = bc + BR + 3 * BR * dp + bc * dp + 3 * BR * bc + 3 * BR + 64;
  return (keyItem > queryItem ? keyItem : queryItem) * 4 + ARGS_BYTES;
}

// Per stacked query row j of the table: lse, delta = dO.O, and the number of visible keys.
function rowStats(a: Args, tab: usize, n: i32, r0: i32, bi: i32, hk: i32, lseA: usize, deltaA: usize, visA: usize): void {
  const g = a.g;
  for (let j: i32 = 0; j < n; j++) {
    const r = r0 + j;
    store<f32>(at(lseA, j), load<f32>(at(a.lse, lseOffset(bi, r, hk, g, a.t, a.h))));
    store<f32>(at(deltaA, j), dot<f32>(row(a.dOut, tab, j), row(a.out, tab, j), a.d));
    store<i32>(at(visA, j), visible(r / g, a.t, a.s, a.causal));
  }
}

/** One key item: keys [s0, s0 + kn) of (bi, hk); writes those rows of dk and dv. */
function keyItem(a: Args, bi: i32, hk: i32, s0: i32, scratch: usize): void {
  const d = a.d;
  const dp = a.dp;
  const bc = a.bc;
  const kn = imin(bc, a.s - s0);
  const rTot = a.t * a.g;
  // this block's dQ terms: rows [0, rTot) of (bi, hk), row stride dp
  const part = at(a.partials, ((bi * a.hkv + hk) * cdiv(a.s, bc) + s0 / bc) * rTot * dp);
  // scratch regions, each right after the one before
  const kTab = scratch;
  const qTab = at(kTab, bc);
  const kA = at(qTab, BR);
  const vA = at(kA, bc * dp);
  const dKa = at(vA, bc * dp);
  const dVa = at(dKa, bc * dp);
  const bq = at(dVa, bc * dp);
  const sT = at(bq, BR * dp);
  const dpT = at(sT, bc * BR);
  const pA = at(dpT, bc * BR);
  const lseA = at(pA, bc * BR);
  const deltaA = at(lseA, BR);
  const visA = at(deltaA, BR);
  const kB = at(visA, BR);
  const tmp = at(kB, bc * dp);

  fillKeyRows(kTab, s0, kn, bi, hk, a.s, a.hkv, d);
  packRowsA(a.k, kTab, kn, d, kA, a.ty);
  packRowsA(a.v, kTab, kn, d, vA, a.ty);
  if (a.partials != 0) packRowsB(a.k, kTab, kn, d, kB, a.ty);
  memory.fill(dKa, 0, <usize>(kn * dp) << 2);
  memory.fill(dVa, 0, <usize>(kn * dp) << 2);
  const tMin = a.causal ? s0 - (a.s - a.t) : 0;
  const rStart = tMin > 0 ? tMin * a.g : 0;
  for (let c0 = rStart; c0 < rTot; c0 += BR) {
    const cn = imin(BR, rTot - c0);
    fillQueryRows(qTab, c0, cn, bi, hk, a.g, a.t, a.h, d);
    rowStats(a, qTab, cn, c0, bi, hk, lseA, deltaA, visA);
    for (let j = cn; j < roundUp(cn, 4); j++) store<i32>(at(visA, j), 0);
    // S^T = K Q^T (scaled), then P^T = exp(S^T - lse) on visible pairs
    packRowsBT(a.q, qTab, cn, d, bq);
    gemmPacked(kA, bq, kn, cn, d, sT, BR, a.scale, false, tmp);
    // dP^T = V dO^T
    packRowsBT(a.dOut, qTab, cn, d, bq);
    gemmPacked(vA, bq, kn, cn, d, dpT, BR, 1, false, tmp);
    for (let i: i32 = 0; i < kn; i++) {
      const key = i32x4.splat(s0 + i);
      const sr = at(sT, i * BR);
      const dr = at(dpT, i * BR);
      for (let j: i32 = 0; j < cn; j += 4) {
        const mask = i32x4.lt_s(key, v128.load(at(visA, j)));
        const pv = v128.and(exp4(f32x4.sub(v128.load(at(sr, j)), v128.load(at(lseA, j)))), mask);
        v128.store(at(sr, j), pv);
        v128.store(at(dr, j), f32x4.mul(pv, f32x4.sub(v128.load(at(dr, j)), v128.load(at(deltaA, j)))));
      }
    }
    // dV += P^T dO
    packScoresA(sT, kn, cn, BR, pA);
    packRowsB(a.dOut, qTab, cn, d, bq);
    gemmPacked(pA, bq, kn, d, cn, dVa, dp, 1, true, tmp);
    // dK += scale dS^T Q
    packScoresA(dpT, kn, cn, BR, pA);
    packRowsB(a.q, qTab, cn, d, bq);
    gemmPacked(pA, bq, kn, d, cn, dKa, dp, a.scale, true, tmp);
    if (a.partials != 0) {
      // dQ term of these rows: scale dS K, with dS = (dS^T)^T packed straight from dpT's columns
      packColumnsA(dpT, kn, cn, BR, pA);
      gemmPacked(pA, kB, cn, d, kn, at(part, c0 * dp), dp, a.scale, false, tmp);
    }
  }
  for (let i: i32 = 0; i < kn; i++) {
    storeRow(row(a.dk, kTab, i), at(dKa, i * dp), d, a.accKV);
    storeRow(row(a.dv, kTab, i), at(dVa, i * dp), d, a.accKV);
  }
}

// A panels [kn][MR] of the transpose of src (kn rows of ld floats): A(r, kk) = src[kk][r] for
// r < roundUp(cn, 4); four consecutive columns of a source row are one panel step.
function packColumnsA(src: usize, kn: i32, cn: i32, ld: i32, dst: usize): void {
  for (let p: i32 = 0; p < cn; p += 4) {
    const out = dst + <usize>(p * kn) * 4;
    for (let kk: i32 = 0; kk < kn; kk++) v128.store(out + (<usize>kk << 4), v128.load(at(src, kk * ld + p)));
  }
}

function storeRow(dst: usize, src: usize, d: i32, add: bool): void {
  let j: i32 = 0;
  for (; j + 4 <= d; j += 4) {
    let x = v128.load(at(src, j));
    if (add) x = f32x4.add(x, v128.load(at(dst, j)));
    v128.store(at(dst, j), x);
  }
  for (; j < d; j++) store<f32>(at(dst, j), add ? load<f32>(at(dst, j)) + load<f32>(at(src, j)) : load<f32>(at(src, j)));
}

/** One query item: stacked rows [r0, r0 + BR) of (bi, hk); writes those rows of dq. */
function queryItem(a: Args, bi: i32, hk: i32, r0: i32, scratch: usize): void {
  const d = a.d;
  const dp = a.dp;
  const bc = a.bc;
  const rows = imin(BR, a.t * a.g - r0);
  // scratch regions, each right after the one before
  const kTab = scratch;
  const qTab = at(kTab, bc);
  const qA = at(qTab, BR);
  const doA = at(qA, BR * dp);
  const dQa = at(doA, BR * dp);
  const kb = at(dQa, BR * dp);
  const sc = at(kb, bc * dp);
  const dpb = at(sc, BR * bc);
  const pA = at(dpb, BR * bc);
  const lseA = at(pA, BR * bc);
  const deltaA = at(lseA, BR);
  const visA = at(deltaA, BR);
  const tmp = at(visA, BR);

  fillQueryRows(qTab, r0, rows, bi, hk, a.g, a.t, a.h, d);
  rowStats(a, qTab, rows, r0, bi, hk, lseA, deltaA, visA);
  packRowsA(a.q, qTab, rows, d, qA);
  packRowsA(a.dOut, qTab, rows, d, doA);
  memory.fill(dQa, 0, <usize>(rows * dp) << 2);
  const kEnd = visible((r0 + rows - 1) / a.g, a.t, a.s, a.causal);
  const lane = i32x4(0, 1, 2, 3);
  for (let s0: i32 = 0; s0 < kEnd; s0 += bc) {
    const kn = imin(bc, kEnd - s0);
    fillKeyRows(kTab, s0, kn, bi, hk, a.s, a.hkv, d);
    packRowsBT(a.k, kTab, kn, d, kb, a.ty);
    gemmPacked(qA, kb, rows, kn, d, sc, bc, a.scale, false, tmp);
    packRowsBT(a.v, kTab, kn, d, kb, a.ty);
    gemmPacked(doA, kb, rows, kn, d, dpb, bc, 1, false, tmp);
    for (let r: i32 = 0; r < rows; r++) {
      const nv = i32x4.splat(load<i32>(at(visA, r)));
      const l = f32x4.splat(load<f32>(at(lseA, r)));
      const dl = f32x4.splat(load<f32>(at(deltaA, r)));
      const sr = at(sc, r * bc);
      const dr = at(dpb, r * bc);
      for (let j: i32 = 0; j < kn; j += 4) {
        const mask = i32x4.lt_s(i32x4.add(i32x4.splat(s0 + j), lane), nv);
        const pv = v128.and(exp4(f32x4.sub(v128.load(at(sr, j)), l)), mask);
        v128.store(at(dr, j), f32x4.mul(pv, f32x4.sub(v128.load(at(dr, j)), dl)));
      }
    }
    packScoresA(dpb, rows, kn, bc, pA);
    packRowsB(a.k, kTab, kn, d, kb, a.ty);
    gemmPacked(pA, kb, rows, d, kn, dQa, dp, a.scale, true, tmp);
  }
  for (let r: i32 = 0; r < rows; r++) {
    storeRow(row(a.dq, qTab, r), at(dQa, r * dp), d, false);
  }
}

/** This thread's share of one attention backward (operands: byte addresses, f32). */
export function attentionBackwardJob(
  dq: usize,
  dk: usize,
  dv: usize,
  dOut: usize,
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
  accumulateKV: i32,
  dqPartials: usize,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  // the operands and geometry go to the head of this thread's scratch for the item functions
  const a = changetype<Args>(scratch);
  a.dq = dq;
  a.dk = dk;
  a.dv = dv;
  a.dOut = dOut;
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.lse = lse;
  a.partials = dqPartials;
  a.t = t;
  a.s = s;
  a.h = h;
  a.hkv = hkv;
  a.d = d;
  a.g = h / hkv;
  a.bc = keyBlock(d);
  a.dp = roundUp(d, NR);
  a.ty = kvType;
  a.scale = scale;
  a.causal = causal != 0;
  a.accKV = accumulateKV != 0;
  scratch += ARGS_BYTES;
  const kBlocks = cdiv(s, a.bc);
  const qBlocks = cdiv(t * a.g, BR);
  const keyCount = batch * hkv * kBlocks;
  const count = dqPartials != 0 ? keyCount : keyCount + batch * hkv * qBlocks;
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    if (item < keyCount) {
      const pair = item / kBlocks;
      const blk = item - pair * kBlocks;
      const bi = pair / hkv;
      keyItem(a, bi, pair - bi * hkv, blk * a.bc, scratch);
    } else {
      const it = item - keyCount;
      const pair = it / qBlocks;
      const blk = qBlocks - 1 - (it - pair * qBlocks);
      const bi = pair / hkv;
      queryItem(a, bi, pair - bi * hkv, blk * BR, scratch);
    }
  }
}

/** Bytes of the dQ partials buffer: one (T * H/Hkv, roundUp(D, 8)) f32 block per key block. */
export function attentionDqPartialsBytes(batch: i32, t: i32, s: i32, h: i32, hkv: i32, d: i32): f64 {
  return <f64>batch * <f64>hkv * <f64>cdiv(s, keyBlock(d)) * <f64>(t * (h / hkv)) * <f64>roundUp(d, NR) * 4;
}

/**
 * dq (B, T, H, D) = the sum, in key-block order, of the dQ terms the key items wrote for each
 * stacked query row (blocks that row sees; 0 for a row that sees no key). Items: (batch, K/V
 * head, BR stacked rows).
 */
export function attentionDqReduceJob(
  dq: usize,
  partials: usize,
  batch: i32,
  t: i32,
  s: i32,
  h: i32,
  hkv: i32,
  d: i32,
  causal: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const g = h / hkv;
  const bc = keyBlock(d);
  const dp = roundUp(d, NR);
  const kBlocks = cdiv(s, bc);
  const rTot = t * g;
  const rBlocks = cdiv(rTot, BR);
  const count = batch * hkv * rBlocks;
  const blockStride = <usize>(rTot * dp) << 2;
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const pair = item / rBlocks;
    const r0 = (item - pair * rBlocks) * BR;
    const bi = pair / hkv;
    const hk = pair - bi * hkv;
    const base = at(partials, pair * kBlocks * rTot * dp);
    const r1 = imin(rTot, r0 + BR);
    for (let r = r0; r < r1; r++) {
      const tt = r / g;
      const nVis = visible(tt, t, s, causal != 0);
      const nb = nVis == 0 ? 0 : cdiv(nVis, bc);
      const dst = at(dq, qRowOffset(bi, r, hk, g, t, h, d));
      const src = at(base, r * dp);
      let j: i32 = 0;
      for (; j + 4 <= d; j += 4) {
        let acc = f32x4.splat(0);
        if (nb > 0) acc = v128.load(at(src, j));
        for (let b: i32 = 1; b < nb; b++) acc = f32x4.add(acc, v128.load(at(src, j) + <usize>b * blockStride));
        v128.store(at(dst, j), acc);
      }
      for (; j < d; j++) {
        let acc: f32 = 0;
        if (nb > 0) acc = load<f32>(at(src, j));
        for (let b: i32 = 1; b < nb; b++) acc += load<f32>(at(src, j) + <usize>b * blockStride);
        store<f32>(at(dst, j), acc);
      }
    }
  }
}
