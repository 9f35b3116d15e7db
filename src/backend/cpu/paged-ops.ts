// The CPU backend's paged-KV ops (kvWrite, pagedAttention): shape/dtype validation
// (../op-shapes-attention.ts), slot/metadata value checks, then the reference kernels of
// ../reference/paged.ts on the store's spans. K/V are read block by block through the block table
// (f16/bf16 blocks are widened one block at a time). With the dense (wasm) kernel, K/V stay in
// their stored dtype: blocks are memcopied as stored, or used in place when consecutive in the pool.
// The caller has checked every tensor is live.
import { ShapeError } from "../../errors.js";
import type { PagedAttentionMeta } from "../backend.js";
import type { AttentionDims } from "../reference/attention.js";
import { kvWriteDims, pagedAttentionDims } from "../op-shapes-attention.js";
import { checkPagedMeta, checkSlots, type PagedDims, pagedAttentionCore } from "../reference/paged.js";
import type { Span } from "../reference/types.js";
import { type DeviceBuffer, type DType, numel, type Tensor } from "../tensor.js";
import type { Store } from "./store.js";

/**
 * A dense attention kernel (the wasm one) plus heap scratch: with it, pagedAttention hands each
 * sequence's K/V to the kernel as stored (f16/bf16 widened inside the kernel): the pool itself when
 * the sequence's blocks are consecutive, else a contiguous scratch copy (a memcpy per block). Several
 * times faster than the reference loops, which run without it.
 */
export interface DenseAttention {
  attention(t: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor }, dims: AttentionDims): void;
  /** Heap buffers for the scratch (kept and grown across calls). */
  createBuffer(size: number, dtype: DType): DeviceBuffer;
  destroyBuffer(b: DeviceBuffer): void;
  /** dst <- src as stored (same dtype and size; no conversion). */
  copy(dst: Tensor, src: Tensor): void;
}

export class PagedOps {
  private readonly scratchBufs = new Map<string, DeviceBuffer>();

  constructor(
    private readonly store: Store,
    private readonly dense: DenseAttention | null = null,
  ) {}

  /** A grow-only scratch tensor of `n` elements, by name and dtype (contents undefined). */
  private scratch(dense: DenseAttention, name: string, n: number, dtype: DType = "f32"): Tensor {
    const key = `${name}:${dtype}`;
    let b = this.scratchBufs.get(key);
    if (b === undefined || b.size < n) {
      if (b !== undefined) dense.destroyBuffer(b);
      b = dense.createBuffer(Math.max(n, Math.ceil((b?.size ?? 0) * 1.5)), dtype);
      this.scratchBufs.set(key, b);
    }
    return { buffer: b, offset: 0, shape: [n], dtype };
  }

  /**
   * Sequence b's first S rows of `pool` as one contiguous (S * row) tensor in the pool's dtype: a view
   * of the pool when its blocks are consecutive there, else a copy into scratch `name`.
   */
  private gather(
    dense: DenseAttention,
    a: { pool: Tensor; name: string; blocks: Int32Array; S: number; bs: number; row: number },
  ): Tensor {
    const { pool, blocks, S, bs, row } = a;
    const nb = Math.ceil(S / bs);
    const first = nb === 0 ? 0 : blocks[0]!;
    let consecutive = true;
    for (let i = 1; i < nb && consecutive; i++) consecutive = blocks[i] === first + i;
    if (consecutive) return { ...pool, offset: pool.offset + first * bs * row, shape: [S * row] };
    const dst = this.scratch(dense, a.name, S * row, pool.dtype);
    for (let i = 0; i < nb; i++) {
      const n = Math.min(bs, S - i * bs) * row;
      const src = pool.offset + blocks[i]! * bs * row;
      dense.copy({ ...dst, offset: i * bs * row, shape: [n] }, { ...pool, offset: src, shape: [n] });
    }
    return { ...dst, shape: [S * row] };
  }

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
    const blockElems = dims.blockSize * dims.nKvHeads * dims.headDim;
    if (this.dense) {
      this.viaDense(this.dense, { out, q, kPool, vPool, lse: meta.lse }, dims, arrays);
      return;
    }
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

  /** Per sequence: K/V blocks -> contiguous f32 scratch, then the dense kernel on its rows. */
  private viaDense(
    dense: DenseAttention,
    t: { out: Tensor; q: Tensor; kPool: Tensor; vPool: Tensor; lse: Tensor | undefined },
    dims: PagedDims,
    meta: { blockTables: Int32Array; seqLens: Int32Array; queryStarts: Int32Array },
  ): void {
    const { nHeads: H, nKvHeads: Hkv, headDim: D, blockSize: bs, maxBlocksPerSeq: mb } = dims;
    const row = Hkv * D;
    const at = (x: Tensor, from: number, shape: number[]): Tensor => ({
      ...x,
      offset: x.offset + from,
      shape,
    });
    for (let b = 0; b < meta.seqLens.length; b++) {
      const q0 = meta.queryStarts[b]!;
      const T = meta.queryStarts[b + 1]! - q0;
      const S = meta.seqLens[b]!;
      if (T === 0) continue;
      const blocks = meta.blockTables.subarray(b * mb, (b + 1) * mb);
      const k = this.gather(dense, { pool: t.kPool, name: "k", blocks, S, bs, row });
      const v = this.gather(dense, { pool: t.vPool, name: "v", blocks, S, bs, row });
      const lse = this.scratch(dense, "lse", H * T); // (1, H, T) as the dense kernel writes it
      const qRows = [1, T, H, D];
      dense.attention(
        {
          out: at(t.out, q0 * H * D, qRows),
          q: at(t.q, q0 * H * D, qRows),
          k: { ...k, shape: [1, S, Hkv, D] },
          v: { ...v, shape: [1, S, Hkv, D] },
          lse: { ...lse, shape: [1, H, T] },
        },
        {
          b: 1,
          t: T,
          s: S,
          h: H,
          hkv: Hkv,
          d: D,
          scale: dims.scale ?? 1 / Math.sqrt(D),
          causal: dims.causal ?? true,
        },
      );
      if (t.lse) {
        const from = this.store.input(lse);
        const to = this.store.output(t.lse);
        for (let i = 0; i < T; i++)
          for (let h = 0; h < H; h++) to.data[to.off + (q0 + i) * H + h] = from.data[from.off + h * T + i]!;
      }
    }
  }
}
