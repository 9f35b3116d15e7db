// First-fit allocator over the byte range [base, limit) of a linear memory: 64-byte aligned blocks,
// a free list sorted by address with coalescing on free, and a `grow` callback that extends the
// limit when nothing fits. It hands out offsets only; it never touches the bytes themselves.
import { BackendError } from "../../errors.js";

export const ALIGN = 64;

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

interface Block {
  start: number;
  size: number;
}

export interface AllocatorOptions {
  /** First usable byte (rounded up to ALIGN); bytes below it belong to someone else. */
  base: number;
  /** Current end of the memory in bytes. */
  limit: number;
  /** Grows the memory so that it has at least `minBytes`; returns the new end. Throws if it cannot. */
  grow(minBytes: number): number;
}

export class Allocator {
  private free: Block[] = [];
  private readonly used = new Map<number, number>();
  private limit: number;
  private bytesInUse = 0;

  constructor(private readonly opts: AllocatorOptions) {
    const base = alignUp(opts.base, ALIGN);
    this.limit = Math.max(base, opts.limit);
    if (this.limit > base) this.free.push({ start: base, size: this.limit - base });
  }

  /** Returns the byte offset of a fresh 64-byte-aligned block of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, alignUp(bytes, ALIGN));
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) {
      this.extend(size);
      i = this.free.findIndex((b) => b.size >= size);
      if (i < 0) throw new BackendError(`cpu allocator: no block of ${size} bytes after growing memory`);
    }
    const block = this.free[i]!;
    const start = block.start;
    if (block.size === size) this.free.splice(i, 1);
    else {
      block.start += size;
      block.size -= size;
    }
    this.used.set(start, size);
    this.bytesInUse += size;
    return start;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(start: number): void {
    const size = this.used.get(start);
    if (size === undefined)
      throw new BackendError(`cpu allocator: offset ${start} is not an allocated block`);
    this.used.delete(start);
    this.bytesInUse -= size;
    this.insertFree({ start, size });
  }

  get stats(): { inUse: number; blocks: number; freeBlocks: number; limit: number } {
    return {
      inUse: this.bytesInUse,
      blocks: this.used.size,
      freeBlocks: this.free.length,
      limit: this.limit,
    };
  }

  /** Free blocks, for tests: sorted, non-overlapping, never adjacent. */
  freeList(): readonly Readonly<Block>[] {
    return this.free;
  }

  private insertFree(block: Block): void {
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < block.start) i++;
    this.free.splice(i, 0, block);
    const next = this.free[i + 1];
    if (next && block.start + block.size === next.start) {
      block.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === block.start) {
      prev.size += block.size;
      this.free.splice(i, 1);
    }
  }

  private extend(size: number): void {
    // Grow by at least what is missing at the end (the last free block may already touch the end).
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.start + last.size === this.limit ? last.size : 0;
    const wanted = this.limit + Math.max(size - tailFree, 0);
    const target = Math.max(wanted, Math.min(this.limit * 2, wanted + (1 << 28)));
    let newLimit: number;
    try {
      newLimit = this.opts.grow(target);
    } catch {
      newLimit = this.opts.grow(wanted); // doubling failed: ask for the minimum
    }
    if (newLimit > this.limit) this.insertFree({ start: this.limit, size: newLimit - this.limit });
    this.limit = newLimit;
  }
}
