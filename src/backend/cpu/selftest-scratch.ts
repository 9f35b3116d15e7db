// Helpers of the wasm start-up self-tests: heap blocks with given contents, deterministic data,
// a relative closeness check, and a guard that turns a throwing check into "not supported".
import type { Span } from "../reference/types.js";
import type { SharedHeap } from "./heap.js";

export function close(x: Float32Array, want: Float32Array): boolean {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(x[i]!)) return false;
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(x[i]! - want[i]!));
  }
  return maxDiff <= 1e-3 * (maxRef + 1e-6);
}

/** Heap blocks with given contents; `ptr` byte offsets, `read` copies back. */
export class Scratch {
  private readonly blocks: number[] = [];
  constructor(private readonly heap: SharedHeap) {}
  put(data: Float32Array): number {
    const p = this.heap.alloc(data.length * 4);
    this.blocks.push(p);
    this.heap.f32.set(data, p / 4);
    return p;
  }
  putInts(data: Int32Array): number {
    const p = this.heap.alloc(data.length * 4);
    this.blocks.push(p);
    this.heap.i32.set(data, p / 4);
    return p;
  }
  read(ptr: number, n: number): Float32Array {
    return this.heap.f32.slice(ptr / 4, ptr / 4 + n);
  }
  free(): void {
    for (const p of this.blocks) this.heap.release(p);
  }
}

export function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.9;
  return out;
}
export const span = (d: Float32Array): Span => ({ data: d, off: 0 });

export function tryOp(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}
