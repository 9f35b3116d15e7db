// Attention building blocks: row tables (element offsets of the q/out/dO rows or k/v rows a tile
// covers, so one packer serves every head layout), packers from row tables into the GEMM panel
// layouts of matmul.ts (widening f16/bf16 K/V), and the tile geometry (the vector exp is in vmath.ts). No allocation.
import { at, eshT, imin, ld1, ld4, TY_F16, TY_F32, transpose4Store } from "./common";
import { MR, NR, panelRow } from "./matmul";

/** Stacked query rows per tile: row r of a (b, hkv) pair is (t = r / g, head hkv * g + r % g). */
export const BR: i32 = 64;

/** Keys per tile: 64, or 32 when the head dim is large (keeps the tiles within thread scratch). */
@inline export function keyBlock(d: i32): i32 {
  return d > 256 ? 32 : 64;
}

/** Element offset (from the tensor base) of stacked row r = t * g + hl of batch bi, K/V head hk. */
@inline export function qRowOffset(bi: i32, r: i32, hk: i32, g: i32, t: i32, h: i32, d: i32): u32 {
  const tt = r / g;
  const head = hk * g + (r - tt * g);
  return <u32>(((bi * t + tt) * h + head) * d);
}

/** Element offset in lse (B, H, T) of stacked row r of batch bi, K/V head hk. */
@inline export function lseOffset(bi: i32, r: i32, hk: i32, g: i32, t: i32, h: i32): i32 {
  const tt = r / g;
  const head = hk * g + (r - tt * g);
  return (bi * h + head) * t + tt;
}

/** Element offset in lse (N, H) of stacked row r of the paged sequence whose rows start at q0. */
@inline export function pagedLseOffset(q0: i32, r: i32, hk: i32, g: i32, h: i32): i32 {
  const tt = r / g;
  return (q0 + tt) * h + hk * g + (r - tt * g);
}

/** Fills tab[0..n) with the element offsets of stacked rows r0..r0+n of a paged sequence: rows
 *  q0.. of q / out (N, H, D). */
export function fillPagedQueryRows(tab: usize, r0: i32, n: i32, q0: i32, hk: i32, g: i32, h: i32, d: i32): void {
  for (let i: i32 = 0; i < n; i++) {
    const r = r0 + i;
    const tt = r / g;
    store<u32>(tab + (<usize>i << 2), <u32>(((q0 + tt) * h + hk * g + (r - tt * g)) * d));
  }
}

/** Fills tab[0..n) with the element offsets, in a pool (blocks, bs, hkv, d), of keys s0..s0+n of
 *  a sequence whose block ids (i32) are at `tables`. */
export function fillPagedKeyRows(tab: usize, s0: i32, n: i32, tables: usize, bs: i32, hk: i32, hkv: i32, d: i32): void {
  for (let i: i32 = 0; i < n; i++) {
    const key = s0 + i;
    const blk = load<i32>(tables + (<usize>(key / bs) << 2));
    store<u32>(tab + (<usize>i << 2), <u32>(((blk * bs + key % bs) * hkv + hk) * d));
  }
}

/** Fills tab[0..n) with the element offsets of stacked query rows r0..r0+n. */
export function fillQueryRows(tab: usize, r0: i32, n: i32, bi: i32, hk: i32, g: i32, t: i32, h: i32, d: i32): void {
  for (let i: i32 = 0; i < n; i++) store<u32>(tab + (<usize>i << 2), qRowOffset(bi, r0 + i, hk, g, t, h, d));
}

/** Fills tab[0..n) with the element offsets of key rows s0..s0+n of batch bi, K/V head hk. */
export function fillKeyRows(tab: usize, s0: i32, n: i32, bi: i32, hk: i32, s: i32, hkv: i32, d: i32): void {
  for (let i: i32 = 0; i < n; i++) store<u32>(tab + (<usize>i << 2), <u32>(((bi * s + s0 + i) * hkv + hk) * d));
}

/** Byte address of row i of the table for an f32 tensor at base. */
@inline export function row(base: usize, tab: usize, i: i32): usize {
  return base + (<usize>load<u32>(tab + (<usize>i << 2)) << 2);
}

@inline function rowT<T>(base: usize, tab: usize, i: i32): usize {
  return base + (<usize>load<u32>(tab + (<usize>i << 2)) << eshT<T>());
}

/** A panels [d][MR] of rows tab[0..n) (d elements of storage ty each): A(i, kk) = row_i[kk]. */
export function packRowsA(base: usize, tab: usize, n: i32, d: i32, dst: usize, ty: i32 = TY_F32): void {
  if (ty == TY_F32) packRowsAT<f32>(base, tab, n, d, dst);
  else if (ty == TY_F16) packRowsAT<i16>(base, tab, n, d, dst);
  else packRowsAT<u16>(base, tab, n, d, dst);
}

/** B panels [d][NR] with B(kk, j) = row_j[kk]: the rows, transposed (e.g. K^T for Q K^T). */
export function packRowsBT(base: usize, tab: usize, n: i32, d: i32, dst: usize, ty: i32 = TY_F32): void {
  if (ty == TY_F32) packRowsBTT<f32>(base, tab, n, d, dst);
  else if (ty == TY_F16) packRowsBTT<i16>(base, tab, n, d, dst);
  else packRowsBTT<u16>(base, tab, n, d, dst);
}

/** B panels [n][NR] with B(kk, j) = row_kk[j], j < d: the rows as they are (e.g. V for P V). */
export function packRowsB(base: usize, tab: usize, n: i32, d: i32, dst: usize, ty: i32 = TY_F32): void {
  if (ty == TY_F32) packRowsBN<f32>(base, tab, n, d, dst);
  else if (ty == TY_F16) packRowsBN<i16>(base, tab, n, d, dst);
  else packRowsBN<u16>(base, tab, n, d, dst);
}

// packRowsA for storage marker T.
function packRowsAT<T>(base: usize, tab: usize, n: i32, d: i32, dst: usize): void {
  const es = eshT<T>();
  for (let p: i32 = 0; p < n; p += MR) {
    const rows = imin(MR, n - p);
    const out = dst + <usize>(p * d) * 4;
    let kk: i32 = 0;
    if (rows == MR) {
      const r0 = rowT<T>(base, tab, p);
      const r1 = rowT<T>(base, tab, p + 1);
      const r2 = rowT<T>(base, tab, p + 2);
      const r3 = rowT<T>(base, tab, p + 3);
      for (; kk + 4 <= d; kk += 4) {
        const o = <usize>kk << es;
        transpose4Store(ld4<T>(r0 + o), ld4<T>(r1 + o), ld4<T>(r2 + o), ld4<T>(r3 + o), out + (<usize>kk << 4), 16);
      }
    }
    for (; kk < d; kk++) {
      for (let r: i32 = 0; r < MR; r++) {
        store<f32>(at(out, kk * MR + r), r < rows ? ld1<T>(rowT<T>(base, tab, p + r) + (<usize>kk << es)) : 0);
      }
    }
  }
}

// packRowsBT for storage marker T.
function packRowsBTT<T>(base: usize, tab: usize, n: i32, d: i32, dst: usize): void {
  const es = eshT<T>();
  for (let p: i32 = 0; p < n; p += NR) {
    const cols = imin(NR, n - p);
    const out = dst + <usize>(p * d) * 4;
    let kk: i32 = 0;
    if (cols == NR) {
      for (let half: i32 = 0; half < 2; half++) {
        const q = p + half * 4;
        const r0 = rowT<T>(base, tab, q);
        const r1 = rowT<T>(base, tab, q + 1);
        const r2 = rowT<T>(base, tab, q + 2);
        const r3 = rowT<T>(base, tab, q + 3);
        const o16 = <usize>(half * 16);
        for (kk = 0; kk + 4 <= d; kk += 4) {
          const o = <usize>kk << es;
          const dst4 = out + (<usize>kk << 5) + o16;
          transpose4Store(ld4<T>(r0 + o), ld4<T>(r1 + o), ld4<T>(r2 + o), ld4<T>(r3 + o), dst4, 32);
        }
      }
    }
    for (; kk < d; kk++) {
      for (let c: i32 = 0; c < NR; c++) {
        store<f32>(at(out, kk * NR + c), c < cols ? ld1<T>(rowT<T>(base, tab, p + c) + (<usize>kk << es)) : 0);
      }
    }
  }
}

// packRowsB for storage marker T.
function packRowsBN<T>(base: usize, tab: usize, n: i32, d: i32, dst: usize): void {
  const es = eshT<T>();
  for (let p: i32 = 0; p < d; p += NR) {
    const cols = imin(NR, d - p);
    const out = dst + <usize>(p * n) * 4;
    for (let kk: i32 = 0; kk < n; kk++) {
      panelRow<T>(rowT<T>(base, tab, kk) + (<usize>p << es), cols, at(out, kk * NR));
    }
  }
}

/** Keys visible to query t (0..n-1) under the causal rule t + (S - T), or all S. */
@inline export function visible(t: i32, tq: i32, s: i32, causal: bool): i32 {
  if (!causal) return s;
  const n = t + s - tq + 1;
  return n < 0 ? 0 : n > s ? s : n;
}
