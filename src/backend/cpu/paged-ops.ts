// The CPU backend's paged-KV ops (kvWrite, pagedAttention): shape/dtype validation, then the
// reference kernels of ../reference/paged.ts on the store's spans. K/V are read block by block
// through the block table (f16/bf16 blocks are widened one block at a time, never the whole pool).
// The caller has checked that every tensor is a live view of its buffers.
import { ShapeError } from "../../errors.js";
import type { PagedAttentionMeta } from "../backend.js";
import { checkPagedMeta, checkSlots, type PagedDims, pagedAttentionCore } from "../reference/paged.js";
import type { Span } from "../reference/types.js";
import { expectDType, expectShape, numel, sameShape, type Tensor } from "../tensor.js";
import type { Store } from "./store.js";

/** (numBlocks, blockSize, Hkv, D) of a pool; names the argument on failure. */
export function poolDims(what: string, pool: Tensor): [number, number, number, number] {
  if (pool.shape.length !== 4)
    throw new ShapeError(`${what} must be (numBlocks, blockSize, Hkv, D), got [${pool.shape}]`);
  expectDType(what, pool, "f32", "f16", "bf16");
  return pool.shape as [number, number, number, number];
}

/** Checks q/out/pools/meta shapes; returns the dims (N from q) without reading meta values. */
export function checkPagedShapes(
  out: Tensor,
  q: Tensor,
  kPool: Tensor,
  vPool: Tensor,
  meta: PagedAttentionMeta,
): PagedDims & { n: number; b: number } {
  const [numBlocks, blockSize, nKvHeads, headDim] = poolDims("pagedAttention kPool", kPool);
  poolDims("pagedAttention vPool", vPool);
  if (!sameShape(kPool.shape, vPool.shape) || kPool.dtype !== vPool.dtype) {
    throw new ShapeError(
      `pagedAttention vPool [${vPool.shape}] ${vPool.dtype} must match kPool [${kPool.shape}] ${kPool.dtype}`,
    );
  }
  if (q.shape.length !== 3 || q.shape[2] !== headDim) {
    throw new ShapeError(`pagedAttention q must be (N, H, ${headDim}) to match the pools, got [${q.shape}]`);
  }
  const [n, nHeads] = q.shape as [number, number, number];
  if (nHeads % nKvHeads !== 0) {
    throw new ShapeError(`pagedAttention: Hkv ${nKvHeads} does not divide H ${nHeads}: use a divisor`);
  }
  expectDType("pagedAttention q", q, "f32");
  expectDType("pagedAttention out", out, "f32");
  expectShape("pagedAttention out", out, q.shape);
  const bt = meta.blockTables;
  if (bt.shape.length !== 2)
    throw new ShapeError(`pagedAttention blockTables must be (B, maxBlocksPerSeq), got [${bt.shape}]`);
  const [b, maxBlocksPerSeq] = bt.shape as [number, number];
  for (const [name, t, shape] of [
    ["blockTables", bt, bt.shape],
    ["seqLens", meta.seqLens, [b]],
    ["queryStarts", meta.queryStarts, [b + 1]],
  ] as const) {
    expectDType(`pagedAttention ${name}`, t, "i32");
    expectShape(`pagedAttention ${name}`, t, shape);
  }
  if (meta.lse) {
    expectDType("pagedAttention lse", meta.lse, "f32");
    expectShape("pagedAttention lse", meta.lse, [n, nHeads]);
  }
  return {
    n,
    b,
    nHeads,
    nKvHeads,
    headDim,
    blockSize,
    maxBlocksPerSeq,
    numBlocks,
    ...(meta.scale !== undefined ? { scale: meta.scale } : {}),
    ...(meta.causal !== undefined ? { causal: meta.causal } : {}),
  };
}

export class PagedOps {
  constructor(private readonly store: Store) {}

  private intArray(t: Tensor): Int32Array {
    const s = this.store.ints(t);
    return s.data.subarray(s.off, s.off + numel(t.shape));
  }

  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void {
    const [numBlocks, blockSize, hkv, d] = poolDims("kvWrite pool", pool);
    expectDType("kvWrite src", src, "f32");
    expectDType("kvWrite slots", slots, "i32");
    const n = numel(slots.shape);
    expectShape("kvWrite src", src, [n, hkv, d]);
    const ids = this.intArray(slots);
    checkSlots(ids, numBlocks * blockSize);
    const row = hkv * d;
    const from = this.store.input(src);
    for (let i = 0; i < n; i++) {
      const s = ids[i]!;
      if (s === -1) continue;
      const dst: Tensor = { ...pool, offset: pool.offset + s * row, shape: [row] };
      this.store.store(dst, { data: from.data, off: from.off + i * row });
    }
  }

  pagedAttention(out: Tensor, q: Tensor, kPool: Tensor, vPool: Tensor, meta: PagedAttentionMeta): void {
    const dims = checkPagedShapes(out, q, kPool, vPool, meta);
    const arrays = {
      blockTables: this.intArray(meta.blockTables),
      seqLens: this.intArray(meta.seqLens),
      queryStarts: this.intArray(meta.queryStarts),
    };
    const n = checkPagedMeta(dims, arrays);
    if (n !== dims.n) {
      throw new ShapeError(`pagedAttention: queryStarts[B] = ${n} but q has ${dims.n} rows`);
    }
    if (n === 0) return;
    const blockElems = dims.blockSize * dims.nKvHeads * dims.headDim;
    const block = (pool: Tensor) => {
      const cache = new Map<number, Span>(); // one widened copy per block per call (f16/bf16)
      return (blk: number): Span => {
        let s = cache.get(blk);
        if (s === undefined) {
          s = this.store.input({ ...pool, offset: pool.offset + blk * blockElems, shape: [blockElems] });
          cache.set(blk, s);
        }
        return s;
      };
    };
    pagedAttentionCore(dims, arrays, {
      out: this.store.output(out),
      lse: meta.lse ? this.store.output(meta.lse) : null,
      q: this.store.input(q),
      kv: { kBlock: block(kPool), vBlock: block(vPool) },
    });
  }
}
