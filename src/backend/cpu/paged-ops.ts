// The CPU backend's paged-KV ops (kvWrite, pagedAttention): shape/dtype validation
// (../op-shapes-attention.ts), slot/metadata value checks, then the reference kernels of
// ../reference/paged.ts on the store's spans. K/V are read block by block through the block table
// (f16/bf16 blocks are widened one block at a time). The caller has checked every tensor is live.
import { ShapeError } from "../../errors.js";
import type { PagedAttentionMeta } from "../backend.js";
import type { AttentionDims } from "../reference/attention.js";
import { kvWriteDims, pagedAttentionDims } from "../op-shapes-attention.js";
import { checkPagedMeta, checkSlots, type PagedDims, pagedAttentionCore } from "../reference/paged.js";
import type { Span } from "../reference/types.js";
import { type DeviceBuffer, numel, type Tensor } from "../tensor.js";
import type { Store } from "./store.js";

/**
 * A dense attention kernel (the wasm one) plus heap scratch: with it, pagedAttention copies each
 * sequence's K/V blocks into contiguous f32 scratch (a memcpy per block) and runs the kernel on
 * them, several times faster than the reference loops. Without it, the reference loops run.
 */
export interface DenseAttention {
  attention(t: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor }, dims: AttentionDims): void;
  /** Heap f32 buffers for the scratch (kept and grown across calls). */
  createBuffer(size: number): DeviceBuffer;
  destroyBuffer(b: DeviceBuffer): void;
}

export class PagedOps {
  private readonly scratchBufs = new Map<string, DeviceBuffer>();

  constructor(
    private readonly store: Store,
    private readonly dense: DenseAttention | null = null,
  ) {}

  /** A grow-only f32 scratch tensor of `n` elements, by name (contents undefined). */
  private scratch(dense: DenseAttention, name: string, n: number): Tensor {
    let b = this.scratchBufs.get(name);
    if (b === undefined || b.size < n) {
      if (b !== undefined) dense.destroyBuffer(b);
      b = dense.createBuffer(Math.max(n, Math.ceil((b?.size ?? 0) * 1.5)));
      this.scratchBufs.set(name, b);
    }
    return { buffer: b, offset: 0, shape: [n], dtype: "f32" };
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
      const k = this.scratch(dense, "k", S * row);
      const v = this.scratch(dense, "v", S * row);
      for (let i = 0; i * bs < S; i++) {
        const n = Math.min(bs, S - i * bs) * row;
        const src = meta.blockTables[b * mb + i]! * bs * row;
        this.store.store(at(k, i * bs * row, [n]), this.store.input(at(t.kPool, src, [n])));
        this.store.store(at(v, i * bs * row, [n]), this.store.input(at(t.vPool, src, [n])));
      }
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
