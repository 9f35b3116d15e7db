// The cache's data movement written with today's Backend ops (same-dtype / rounding `cast` on row
// slices), until backends implement the proposed native `kvWrite` / `pagedAttention` (see
// reference-paged.ts for their semantics). One cast per run of consecutive slots: a block-sized
// run costs one op. Slots are host-side Int32Arrays here; the native ops will take i32 tensors.
import type { Backend } from "../backend/backend.js";
import { numel, reshape, slice0, type Tensor } from "../backend/tensor.js";
import { ShapeError } from "../errors.js";

/** Calls fn(slotStart, rowStart, count) for each maximal run of consecutive slots. */
function runs(slots: Int32Array, fn: (slot: number, row: number, count: number) => void): void {
  let i = 0;
  while (i < slots.length) {
    let j = i + 1;
    while (j < slots.length && slots[j] === slots[j - 1]! + 1) j++;
    fn(slots[i]!, i, j - i);
    i = j;
  }
}

/** pool (numBlocks, blockSize, Hkv, D) viewed as (numBlocks * blockSize, Hkv, D) rows. */
function poolRows(pool: Tensor, rowShape: readonly number[]): Tensor {
  const row = numel(rowShape);
  if (numel(pool.shape) % row !== 0)
    throw new ShapeError(`pool [${pool.shape}] is not made of rows [${rowShape}]`);
  return reshape(pool, [numel(pool.shape) / row, ...rowShape]);
}

/** pool[slots[n]] = src[n] (rounded to the pool's dtype). src: (N, Hkv, D) f32; slots: N ids. */
export function kvWrite(backend: Backend, pool: Tensor, src: Tensor, slots: Int32Array): void {
  if (src.shape[0] !== slots.length) {
    throw new ShapeError(`kvWrite: src has ${src.shape[0]} rows but ${slots.length} slots were given`);
  }
  const rows = poolRows(pool, src.shape.slice(1));
  runs(slots, (slot, row, count) => backend.cast(slice0(rows, slot, count), slice0(src, row, count)));
}

/** out[n] = pool[slots[n]]: a sequence's K or V made contiguous, out (S, Hkv, D) in any float dtype. */
export function kvGather(backend: Backend, out: Tensor, pool: Tensor, slots: Int32Array): void {
  if (out.shape[0] !== slots.length) {
    throw new ShapeError(`kvGather: out has ${out.shape[0]} rows but ${slots.length} slots were given`);
  }
  const rows = poolRows(pool, out.shape.slice(1));
  runs(slots, (slot, row, count) => backend.cast(slice0(out, row, count), slice0(rows, slot, count)));
}
