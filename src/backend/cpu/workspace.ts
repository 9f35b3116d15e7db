// Named work blocks in the shared heap for the wasm layer ops (the cross-entropy lse side buffer,
// reduction partials, rope cos/sin tables): allocated on first use, replaced by a larger block
// when a call needs more (the old contents are then lost), released on dispose.
import type { SharedHeap } from "./heap.js";

export class Workspace {
  private readonly blocks = new Map<string, { ptr: number; bytes: number }>();

  constructor(private readonly heap: SharedHeap) {}

  /** Byte offset (64-byte aligned) of block `name`, at least `bytes` long. */
  get(name: string, bytes: number): number {
    const have = this.blocks.get(name);
    if (have && have.bytes >= bytes) return have.ptr;
    if (have) this.heap.release(have.ptr);
    this.blocks.delete(name);
    const size = Math.max(bytes, 2 * (have?.bytes ?? 0), 256);
    const ptr = this.heap.alloc(size);
    this.blocks.set(name, { ptr, bytes: size });
    return ptr;
  }

  dispose(): void {
    for (const b of this.blocks.values()) this.heap.release(b.ptr);
    this.blocks.clear();
  }
}
