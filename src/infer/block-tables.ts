// Per-sequence block tables over a BlockPool (vLLM v1's KV manager, host side only): which blocks
// hold a sequence's tokens, how many tokens are written, the slot of each token
// (slot = block * blockSize + offset), copy-on-write for blocks shared by fork. No tensors here:
// the KvCache applies the returned copy plans to its device pools; the scheduler plans with this.
import type { BlockPool } from "./block-pool.js";
import { KvCacheError } from "./errors.js";

/** Copy rows [0, tokens) of block `src` into block `dst` (in every producer's K and V pool). */
export interface BlockCopy {
  src: number;
  dst: number;
  tokens: number;
}

/** Outcome of reserving room for new tokens: back-pressure is a value, not an exception. */
export type AllocResult =
  /** Room reserved; `copies` must be applied to the pools before the new tokens are written. */
  | { kind: "ok"; newBlocks: number; copies: BlockCopy[] }
  /** Not enough free blocks now: `needed` blocks, `free` available. Retry after others free theirs. */
  | { kind: "wait"; needed: number; free: number }
  /** The sequence would need `needed` blocks in all; the pool has only `total`. It can never fit. */
  | { kind: "never"; needed: number; total: number };

interface Seq {
  blocks: number[];
  /** Tokens whose K/V are written (or being written this step). */
  length: number;
  /** Changes (to a value never used before, by any sequence) whenever `blocks` changes. */
  version: number;
}

/**
 * A sequence's block table as it is now (a live view: it changes with the sequence). `version`
 * identifies the contents: two reads with the same version hold the same blocks, whatever the id.
 */
export interface TableView {
  readonly blocks: readonly number[];
  readonly version: number;
}

/** What blocksNeeded sees for a sequence not started yet (never mutated). */
const EMPTY: Readonly<Seq> = Object.freeze({ blocks: [], length: 0, version: 0 });

export class BlockTables {
  readonly pool: BlockPool;
  readonly blockSize: number;
  private readonly seqs = new Map<string, Seq>();
  /** Next table version: global, so a version names one sequence's blocks at one time. */
  private nextVersion = 1;

  constructor(pool: BlockPool, blockSize: number) {
    if (!Number.isInteger(blockSize) || blockSize < 1) {
      throw new KvCacheError(`block size ${blockSize} is not a positive integer`);
    }
    this.pool = pool;
    this.blockSize = blockSize;
  }

  has(seqId: string): boolean {
    return this.seqs.has(seqId);
  }

  sequenceIds(): string[] {
    return [...this.seqs.keys()];
  }

  /** Tokens written for the sequence (0 for an unknown one). */
  length(seqId: string): number {
    return this.seqs.get(seqId)?.length ?? 0;
  }

  blockTable(seqId: string): readonly number[] {
    return this.get(seqId).blocks;
  }

  /** The sequence's blocks and their version (see TableView); lets a step re-pack only what changed. */
  table(seqId: string): TableView {
    return this.get(seqId);
  }

  /** Blocks needed to hold a sequence of `totalTokens` tokens. */
  blocksFor(totalTokens: number): number {
    return Math.ceil(totalTokens / this.blockSize);
  }

  /** New blocks `allocateFor(seqId, nNewTokens)` would take now (including copy-on-write). */
  blocksNeeded(seqId: string, nNewTokens: number): number {
    checkCount(nNewTokens);
    const s = this.seqs.get(seqId) ?? EMPTY;
    const grow = Math.max(0, this.blocksFor(s.length + nNewTokens) - s.blocks.length);
    return grow + (nNewTokens > 0 && this.sharedPartialTail(s) >= 0 ? 1 : 0);
  }

  /**
   * Reserves room for `nNewTokens` more tokens of `seqId` (a new sequence starts empty). All or
   * nothing: on "wait" / "never" nothing changed. Copy-on-write: if the block the next token goes
   * into is shared, it is replaced by a private copy, listed in `copies`.
   */
  allocateFor(seqId: string, nNewTokens: number): AllocResult {
    checkCount(nNewTokens);
    const old = this.seqs.get(seqId);
    const s = old ?? { blocks: [], length: 0, version: this.nextVersion++ };
    // (blocksNeeded, with one lookup: a decode step calls this for every sequence)
    const tail = nNewTokens > 0 ? this.sharedPartialTail(s) : -1;
    const totalNeeded = this.blocksFor(s.length + nNewTokens);
    const grow = Math.max(0, totalNeeded - s.blocks.length);
    const needed = grow + (tail >= 0 ? 1 : 0);
    if (needed === 0) {
      if (old === undefined) this.seqs.set(seqId, s);
      return { kind: "ok", newBlocks: 0, copies: [] };
    }
    if (totalNeeded > this.pool.numBlocks)
      return { kind: "never", needed: totalNeeded, total: this.pool.numBlocks };
    const fresh = this.pool.allocate(needed);
    if (fresh === null) return { kind: "wait", needed, free: this.pool.numFree() };
    const copies: BlockCopy[] = [];
    if (tail >= 0) {
      const dst = fresh.pop()!;
      const src = s.blocks[tail]!;
      copies.push({ src, dst, tokens: s.length - tail * this.blockSize });
      s.blocks[tail] = dst;
      this.pool.release([src]);
    }
    s.blocks.push(...fresh);
    s.version = this.nextVersion++;
    this.seqs.set(seqId, s);
    return { kind: "ok", newBlocks: needed, copies };
  }

  /**
   * Marks the next `nTokens` tokens of `seqId` as written and returns their slots
   * (block * blockSize + offset). The room must have been reserved with allocateFor.
   */
  append(seqId: string, nTokens: number): Int32Array {
    checkCount(nTokens);
    const s = this.get(seqId);
    if (s.length + nTokens > s.blocks.length * this.blockSize) {
      throw new KvCacheError(
        `sequence "${seqId}" has room for ${s.blocks.length * this.blockSize - s.length} more tokens, ` +
          `not ${nTokens}: call allocateFor first`,
      );
    }
    const slots = new Int32Array(nTokens);
    for (let i = 0; i < nTokens; i++) {
      const pos = s.length + i;
      const block = s.blocks[Math.floor(pos / this.blockSize)]!;
      if (i === 0 && pos % this.blockSize !== 0 && this.pool.refCount(block) > 1) {
        throw new KvCacheError(
          `sequence "${seqId}" would write into shared block ${block}: call allocateFor first`,
        );
      }
      slots[i] = block * this.blockSize + (pos % this.blockSize);
    }
    s.length += nTokens;
    return slots;
  }

  /** Slots of tokens [0, length) of the sequence, in order. */
  slotsOf(seqId: string): Int32Array {
    const s = this.get(seqId);
    const out = new Int32Array(s.length);
    for (let p = 0; p < s.length; p++) {
      out[p] = s.blocks[Math.floor(p / this.blockSize)]! * this.blockSize + (p % this.blockSize);
    }
    return out;
  }

  /** `child` starts as a copy of `parent` sharing its written blocks (refcounts; no data moves). */
  fork(parentId: string, childId: string): void {
    const p = this.get(parentId);
    if (this.seqs.has(childId)) throw new KvCacheError(`cannot fork into "${childId}": it already exists`);
    const used = p.blocks.slice(0, this.blocksFor(p.length));
    this.seqs.set(childId, { blocks: this.pool.share(used), length: p.length, version: this.nextVersion++ });
  }

  /** Returns every block of the sequence to the pool at once; unknown ids are ignored. */
  free(seqId: string): void {
    const s = this.seqs.get(seqId);
    if (s === undefined) return;
    this.seqs.delete(seqId);
    this.pool.release(s.blocks);
  }

  /** Index in s.blocks of a shared block that the next token would be written into, or -1. */
  private sharedPartialTail(s: Seq): number {
    if (s.length % this.blockSize === 0) return -1;
    const i = Math.floor(s.length / this.blockSize);
    return this.pool.refCount(s.blocks[i]!) > 1 ? i : -1;
  }

  private get(seqId: string): Seq {
    const s = this.seqs.get(seqId);
    if (s === undefined) throw new KvCacheError(`unknown sequence "${seqId}"`);
    return s;
  }
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new KvCacheError(`token count ${n} is not a non-negative integer`);
}
