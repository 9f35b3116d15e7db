// The paged KV cache: for each PRODUCER layer only, a K and a V pool on the backend, each a
// (numBlocks, blockSize, Hkv, D) tensor in the layout's dtype; sharing layers allocate nothing and
// read their producer's pools through the layer -> cache-layer map. Host-side block tables decide
// the slots (slot = block * blockSize + offset). It never imports model/ and runs no attention.
import type { Backend } from "../backend/backend.js";
import { bytesPerElement, reshape, slice0, type Tensor, view } from "../backend/tensor.js";
import { BlockPool } from "./block-pool.js";
import { type AllocResult, type BlockCopy, BlockTables } from "./block-tables.js";
import { KvCacheError } from "./errors.js";
import { type KvLayout, type ResolvedKvLayout, resolveKvLayout } from "./kv-layout.js";

export interface KvCacheOptions {
  backend: Backend;
  layout: KvLayout;
  /** Blocks per pool; every producer's K and V pools have this many. See `blocksForBudget`. */
  numBlocks: number;
  /** Check block-pool invariants after every operation (tests). */
  debug?: boolean;
}

/** K and V pools of one cache layer: (numBlocks, blockSize, Hkv, D) each. */
export interface KvViews {
  k: Tensor;
  v: Tensor;
}

/** Blocks that fit in `bytes` of KV memory for this layout (every producer's K and V pools). */
export function blocksForBudget(layout: KvLayout, bytes: number): number {
  const r = resolveKvLayout(layout);
  return Math.max(0, Math.floor(bytes / (r.bytesPerToken() * r.blockSize)));
}

export class KvCache {
  readonly layout: ResolvedKvLayout;
  readonly tables: BlockTables;
  readonly numBlocks: number;
  private readonly backend: Backend;
  /** Indexed by cache layer (0..P-1), not by model layer. */
  private readonly pools: KvViews[];
  private disposed = false;

  constructor(opts: KvCacheOptions) {
    this.layout = resolveKvLayout(opts.layout);
    if (!Number.isInteger(opts.numBlocks) || opts.numBlocks < 1) {
      throw new KvCacheError(`KV cache numBlocks ${opts.numBlocks} is invalid: give at least 1 block`);
    }
    this.numBlocks = opts.numBlocks;
    this.backend = opts.backend;
    this.tables = new BlockTables(
      new BlockPool(opts.numBlocks, { debug: opts.debug }),
      this.layout.blockSize,
    );
    const { blockSize, nKvHeads, headDim, dtype } = this.layout;
    const shape = [opts.numBlocks, blockSize, nKvHeads, headDim];
    const size = opts.numBlocks * this.layout.elementsPerBlock();
    this.pools = [];
    try {
      for (const l of this.layout.kvLayers) {
        const k = view(this.backend.createBuffer(size, dtype, `kv.k.layer${l}`), shape);
        const v = view(this.backend.createBuffer(size, dtype, `kv.v.layer${l}`), shape);
        this.pools.push({ k, v });
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The pools model layer `layer` reads: its own if it produces, else its producer's. */
  kvViewsFor(layer: number): KvViews {
    this.alive();
    return this.pools[this.layout.cacheLayerOf(layer)]!;
  }

  /** Bytes of the backend buffers this cache holds (every producer's K and V pools). */
  bytesAllocated(): number {
    let n = 0;
    for (const p of this.pools) {
      for (const t of [p.k, p.v]) n += t.buffer.size * bytesPerElement(t.buffer.dtype);
    }
    return n;
  }

  /** Token slots the cache holds: numBlocks * blockSize. */
  capacityTokens(): number {
    return this.numBlocks * this.layout.blockSize;
  }

  /**
   * Reserves room for `nTokens` more tokens of `seqId` (a new id starts a sequence). Back-pressure
   * ("wait", "never") is a result, not an exception. Copy-on-write copies are applied here.
   */
  allocateFor(seqId: string, nTokens: number): AllocResult {
    this.alive();
    const r = this.tables.allocateFor(seqId, nTokens);
    if (r.kind === "ok") this.applyCopies(r.copies);
    return r;
  }

  /** Marks the next `nTokens` tokens as written; returns their slots for kvWrite. */
  append(seqId: string, nTokens: number): Int32Array {
    this.alive();
    return this.tables.append(seqId, nTokens);
  }

  /** `child` shares `parent`'s blocks (prefix sharing by refcount); writes copy on demand. */
  fork(parentId: string, childId: string): void {
    this.alive();
    this.tables.fork(parentId, childId);
  }

  /** Returns the sequence's blocks at once. */
  free(seqId: string): void {
    this.tables.free(seqId);
  }

  length(seqId: string): number {
    return this.tables.length(seqId);
  }

  numFreeBlocks(): number {
    return this.tables.pool.numFree();
  }

  /** Destroys the pools; the cache is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.pools) {
      this.backend.destroyBuffer(p.k.buffer);
      this.backend.destroyBuffer(p.v.buffer);
    }
    this.pools.length = 0;
  }

  private applyCopies(copies: readonly BlockCopy[]): void {
    const { blockSize, nKvHeads, headDim } = this.layout;
    for (const c of copies) {
      for (const p of this.pools) {
        for (const pool of [p.k, p.v]) {
          // pool rows: (numBlocks * blockSize, Hkv, D); same-dtype cast is an exact copy.
          const rows = reshape(pool, [this.numBlocks * blockSize, nKvHeads, headDim]);
          this.backend.cast(
            slice0(rows, c.dst * blockSize, c.tokens),
            slice0(rows, c.src * blockSize, c.tokens),
          );
        }
      }
    }
  }

  private alive(): void {
    if (this.disposed) throw new KvCacheError("the KV cache was disposed");
  }
}
