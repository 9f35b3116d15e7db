// Paged attention forward (the engine's pagedAttention): the sequences of one step, their query rows
// packed as N rows (q, out (N, H, D); lse (N, H)), each reading its K/V through its block table
// (pools (blocks, bs, Hkv, D), f32/f16/bf16 widened while packing). One job over all sequences:
// items (sequence, K/V head, block of BR stacked rows), found by binary search in `itemStarts`
// (nSeq + 1 prefix sums of the items per sequence, written by the caller). The per-item work is
// attention.ts's attendRows with the key rows taken from the pages. With nSplit > 1 (fewer items
// than threads: a decode step of one sequence) each item is split over its keys in chunks of whole
// key tiles, writing partials that pagedCombineJob merges (flash-decoding).
import { attendRows, queryTable } from "./attention";
import { BR, fillPagedQueryRows, keyBlock } from "./attention-pack";
import { at, cdiv, imin, nextItem, roundUp } from "./common";

export function pagedAttentionJob(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  tables: usize,
  seqLens: usize,
  qStarts: usize,
  itemStarts: usize,
  nSeq: i32,
  mb: i32,
  bs: i32,
  h: i32,
  hkv: i32,
  d: i32,
  scale: f32,
  causal: i32,
  kvType: i32,
  partials: usize,
  nSplit: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const g = h / hkv;
  const qTab = queryTable(scratch, d);
  const count = load<i32>(itemStarts + (<usize>nSeq << 2));
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    // the sequence: the last b with itemStarts[b] <= item (sequences without rows have no items)
    let lo: i32 = 0;
    let hi: i32 = nSeq;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (load<i32>(itemStarts + (<usize>mid << 2)) <= item) lo = mid;
      else hi = mid;
    }
    const q0 = load<i32>(qStarts + (<usize>lo << 2));
    const tq = load<i32>(qStarts + (<usize>(lo + 1) << 2)) - q0;
    const sk = load<i32>(seqLens + (<usize>lo << 2));
    const blocks = cdiv(tq * g, BR);
    const local = item - load<i32>(itemStarts + (<usize>lo << 2));
    const sp = local % nSplit;
    const pair = local / nSplit;
    const blk = blocks - 1 - (pair % blocks);
    const hk = pair / blocks;
    // split sp's keys: whole key tiles
    const chunk = roundUp(cdiv(sk, nSplit), keyBlock(d));
    const ks = sp * chunk;
    const r0 = blk * BR;
    const rows = imin(BR, tq * g - r0);
    fillPagedQueryRows(qTab, r0, rows, q0, hk, g, h, d);
    const tableRow = tables + (<usize>(lo * mb) << 2);
    const ke = imin(sk, ks + chunk);
    const split = nSplit > 1 ? partials : 0;
    attendRows(q, k, v, out, lse, r0, rows, 0, hk, g, tq, sk, h, hkv, d, scale, causal != 0, kvType, tableRow, bs, q0, ks, ke, split, nSplit, sp, scratch);
  }
}

/**
 * Merges the nSplit partials (m, l, o[d]) of each of the n * h (row, head) pairs of a split
 * pagedAttentionJob into out (N, H, D) and lse (N, H): rows that saw no key get 0 and -inf.
 */
export function pagedCombineJob(
  out: usize,
  lse: usize,
  partials: usize,
  n: i32,
  h: i32,
  d: i32,
  nSplit: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const stride = d + 2;
  for (let item = nextItem(counter); item < n * h; item = nextItem(counter)) {
    const base = at(partials, item * nSplit * stride);
    let mx: f32 = -Infinity;
    for (let s: i32 = 0; s < nSplit; s++) {
      const m = load<f32>(at(base, s * stride));
      if (m > mx) mx = m;
    }
    const dst = at(out, item * d);
    memory.fill(dst, 0, <usize>d << 2);
    let l: f32 = 0;
    if (mx != -Infinity) {
      for (let s: i32 = 0; s < nSplit; s++) {
        const p = at(base, s * stride);
        const m = load<f32>(p);
        if (m == -Infinity) continue;
        const w = Mathf.exp(m - mx);
        l += load<f32>(at(p, 1)) * w;
        for (let j: i32 = 0; j < d; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(p, 2 + j)) * w);
      }
    }
    const inv: f32 = l > 0 ? 1 / l : 0;
    for (let j: i32 = 0; j < d; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) * inv);
    store<f32>(at(lse, item), l > 0 ? mx + Mathf.log(l) : -Infinity);
  }
}
