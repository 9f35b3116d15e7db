// The f32 backend's memory: one shared WebAssembly.Memory (the wasm kernels read the same bytes)
// with typed-array views that are recreated whenever growing replaces memory.buffer. Byte offsets
// come from the Allocator, which never hands out bytes below the kernels' reserved region.
import { BackendError } from "../../errors.js";
import { Allocator } from "./allocator.js";

const PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export class SharedHeap {
  readonly memory: WebAssembly.Memory;
  private allocator: Allocator | null = null;
  private buf: ArrayBufferLike | null = null;
  private f32View = new Float32Array(0);
  private u16View = new Uint16Array(0);
  private i32View = new Int32Array(0);

  constructor(initialPages = 16) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
  }

  /** Starts allocating at `reservedBytes` (fixed once the kernels are loaded, or 0 without them). */
  init(reservedBytes: number): void {
    if (this.allocator) throw new BackendError("SharedHeap.init called twice");
    this.ensureBytes(reservedBytes);
    this.allocator = new Allocator({
      base: reservedBytes,
      limit: this.memory.buffer.byteLength,
      grow: (minBytes) => this.ensureBytes(minBytes),
    });
  }

  /** Grows the memory to at least `bytes`; returns its new size in bytes. */
  private ensureBytes(bytes: number): number {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return have;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new BackendError(
        `cpu backend out of memory: ${bytes} bytes requested, the wasm32 limit is 4 GiB; free buffers or use smaller shapes`,
      );
    }
    this.memory.grow(pages);
    return this.memory.buffer.byteLength;
  }

  alloc(bytes: number): number {
    if (!this.allocator) throw new BackendError("SharedHeap used before init");
    return this.allocator.alloc(bytes);
  }

  release(byteOffset: number): void {
    this.allocator?.release(byteOffset);
  }

  get stats() {
    return this.allocator?.stats ?? { inUse: 0, blocks: 0, freeBlocks: 0, limit: 0 };
  }

  private refresh(): void {
    const b = this.memory.buffer;
    if (b === this.buf && b.byteLength === this.f32View.byteLength) return;
    this.buf = b;
    this.f32View = new Float32Array(b);
    this.u16View = new Uint16Array(b);
    this.i32View = new Int32Array(b);
  }

  /** Views over the whole memory; fetch them again after any allocation (memory may have grown). */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }
  get u16(): Uint16Array {
    this.refresh();
    return this.u16View;
  }
  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
}
