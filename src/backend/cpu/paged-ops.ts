// The CPU backend's paged-KV ops (kvWrite, pagedAttention): shape/dtype validation
// (../op-shapes-attention.ts), slot/metadata value checks, then the wasm paged kernel (all the
// step's sequences in one job, K/V read through the block tables as stored) or, without it, the
// reference kernels of ../reference/paged.ts on the store's spans (K/V block by block, f16/bf16
// blocks widened one at a time). The caller has checked every tensor is live.
import { ShapeError } from "../../errors.js";
import type { PagedAttentionMeta } from "../backend.js";
import { kvWriteDims, pagedAttentionDims } from "../op-shapes-attention.js";
import {
  checkPagedMeta,
  checkSlots,
  type PagedDims,
  type PagedMetaArrays,
  pagedAttentionCore,
} from "../reference/paged.js";
import type { Span } from "../reference/types.js";
import { numel, type Tensor } from "../tensor.js";
import type { Store } from "./store.js";

/** The tensors of one pagedAttention call (meta's device copies included). */
export type PagedAttentionIo = {
  out: Tensor;
  q: Tensor;
  kPool: Tensor;
  vPool: Tensor;
  lse: Tensor | undefined;
} & Record<"blockTables" | "seqLens" | "queryStarts", Tensor>;

/** The wasm paged-attention kernel (WasmOps.pagedAttention); `meta` are validated host copies. */
export interface PagedKernel {
  pagedAttention(t: PagedAttentionIo, dims: PagedDims & { n: number }, meta: PagedMetaArrays): void;
}

export class PagedOps {
  constructor(
    private readonly store: Store,
    private readonly kernel: PagedKernel | null = null,
  ) {}

  private intArray(t: Tensor): Int32Array {
    const s = this.store.ints(t);
    return s.data.subarray(s.off, s.off + numel(t.shape));
  }

  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void {
    const { numBlocks, blockSize, hkv, d, n } = kvWriteDims(pool, src, slots);
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
    const dims = pagedAttentionDims(out, q, kPool, vPool, meta);
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
    if (this.kernel) {
      const { blockTables, seqLens, queryStarts, lse } = meta;
      this.kernel.pagedAttention(
        { out, q, kPool, vPool, lse, blockTables, seqLens, queryStarts },
        dims,
        arrays,
      );
      return;
    }
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
