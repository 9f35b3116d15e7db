// vLLM-v1-style pool of fixed-size KV blocks: block ids 0..numBlocks-1, a reference count each, and
// a FIFO free list (a freed block is reused last, so its contents survive longest: the property a
// later prefix cache relies on). Pure host bookkeeping: it knows no tensors, tokens or sequences.
// Allocation is all-or-nothing; misuse (freeing a free block, bad ids) throws KvCacheError.
import { KvCacheError } from "./errors.js";

export interface BlockPoolOptions {
  /** Check every invariant after each operation (O(numBlocks)); for tests and debugging. */
  debug?: boolean;
}

export class BlockPool {
  readonly numBlocks: number;
  private readonly debug: boolean;
  private readonly refs: Int32Array;
  /** Ring buffer of free block ids: [head, head + free) mod numBlocks. */
  private readonly ring: Int32Array;
  private head = 0;
  private free = 0;

  constructor(numBlocks: number, opts: BlockPoolOptions = {}) {
    if (!Number.isInteger(numBlocks) || numBlocks < 0) {
      throw new KvCacheError(`block pool size ${numBlocks} is not a non-negative integer`);
    }
    this.numBlocks = numBlocks;
    this.debug = opts.debug ?? false;
    this.refs = new Int32Array(numBlocks);
    this.ring = new Int32Array(numBlocks);
    for (let b = 0; b < numBlocks; b++) this.ring[b] = b;
    this.free = numBlocks;
  }

  numFree(): number {
    return this.free;
  }

  numUsed(): number {
    return this.numBlocks - this.free;
  }

  refCount(block: number): number {
    this.checkId(block);
    return this.refs[block]!;
  }

  /** Takes `n` blocks (refcount 1 each) from the free list, oldest-freed first; null if fewer free. */
  allocate(n: number): number[] | null {
    if (!Number.isInteger(n) || n < 0) throw new KvCacheError(`cannot allocate ${n} blocks`);
    if (n > this.free) return null;
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.ring[this.head]!;
      this.head = (this.head + 1) % this.numBlocks;
      this.refs[b] = 1;
      out[i] = b;
    }
    this.free -= n;
    if (this.debug) this.checkInvariants();
    return out;
  }

  /** Shares already-referenced blocks (prefix sharing, fork): refcount += 1 each. Returns them. */
  share(blocks: readonly number[]): number[] {
    for (const b of blocks) {
      this.checkId(b);
      if (this.refs[b]! < 1) throw new KvCacheError(`cannot share block ${b}: it is free`);
    }
    for (const b of blocks) this.refs[b] = this.refs[b]! + 1;
    if (this.debug) this.checkInvariants();
    return [...blocks];
  }

  /** Drops one reference to each block; a block whose count reaches 0 joins the free list's tail. */
  release(blocks: readonly number[]): void {
    // Validate first against the counts this call will leave, so a bad call changes nothing.
    const drops = new Map<number, number>();
    for (const b of blocks) {
      this.checkId(b);
      const d = (drops.get(b) ?? 0) + 1;
      if (d > this.refs[b]!) {
        throw new KvCacheError(
          `cannot release block ${b}: its reference count is ${this.refs[b]} (double free)`,
        );
      }
      drops.set(b, d);
    }
    for (const b of blocks) {
      const r = this.refs[b]! - 1;
      this.refs[b] = r;
      if (r === 0) {
        this.ring[(this.head + this.free) % this.numBlocks] = b;
        this.free++;
      }
    }
    if (this.debug) this.checkInvariants();
  }

  /** Throws KvCacheError unless: free list holds exactly the refcount-0 blocks, once each; counts >= 0. */
  checkInvariants(): void {
    const seen = new Uint8Array(this.numBlocks);
    for (let i = 0; i < this.free; i++) {
      const b = this.ring[(this.head + i) % this.numBlocks]!;
      if (seen[b]) throw new KvCacheError(`block ${b} is on the free list twice`);
      seen[b] = 1;
      if (this.refs[b] !== 0) throw new KvCacheError(`block ${b} is free but has refcount ${this.refs[b]}`);
    }
    for (let b = 0; b < this.numBlocks; b++) {
      const r = this.refs[b]!;
      if (r < 0) throw new KvCacheError(`block ${b} has negative refcount ${r}`);
      if (r === 0 && !seen[b])
        throw new KvCacheError(`block ${b} has refcount 0 but is not on the free list`);
    }
  }

  private checkId(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) {
      throw new KvCacheError(`block id ${b} is out of range 0..${this.numBlocks - 1}`);
    }
  }
}
