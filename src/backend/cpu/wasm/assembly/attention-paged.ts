// Paged attention forward (the engine's pagedAttention): the sequences of one step, their query rows
// packed as N rows (q, out (N, H, D); lse (N, H)), each reading its K/V through its block table
// (pools (blocks, bs, Hkv, D), f32/f16/bf16 widened while packing). One job over all sequences:
// items (sequence, K/V head, block of BR stacked rows), found by binary search in `itemStarts`
// (nSeq + 1 prefix sums of the items per sequence, written by the caller). The per-item work is
// attention.ts's attendRows with the key rows taken from the pages.
import { attendRows, queryTable } from "./attention";
import { BR, fillPagedQueryRows } from "./attention-pack";
import { cdiv, imin, nextItem } from "./common";

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
    const blk = blocks - 1 - (local % blocks);
    const hk = local / blocks;
    const r0 = blk * BR;
    const rows = imin(BR, tq * g - r0);
    fillPagedQueryRows(qTab, r0, rows, q0, hk, g, h, d);
    const tableRow = tables + (<usize>(lo * mb) << 2);
    attendRows(q, k, v, out, lse, r0, rows, 0, hk, g, tq, sk, h, hkv, d, scale, causal != 0, kvType, tableRow, bs, q0, scratch);
  }
}
