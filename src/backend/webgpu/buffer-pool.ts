// A pool of GPU buffers for scratch storage and MAP_READ staging, bucketed by usage and size
// (powers of two from 256 bytes). Callers return buffers only once the GPU can no longer touch them
// in a way that conflicts with the next user (the runtime releases scratch after a submit).
// It does not track tensors or user buffers.
/// <reference types="@webgpu/types" />

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();
  /** Bytes held by pooled buffers (in use or free). */
  bytes = 0;

  constructor(private readonly device: GPUDevice) {}

  static bucket(size: number): number {
    let b = 256;
    while (b < size) b *= 2;
    return b;
  }

  acquire(size: number, usage: number, label: string): GPUBuffer {
    const b = BufferPool.bucket(size);
    const list = this.free.get(`${usage}:${b}`);
    const hit = list?.pop();
    if (hit) return hit;
    const buf = this.device.createBuffer({ size: b, usage, label: `${label} (pool ${b})` });
    this.all.add(buf);
    this.bytes += b;
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.all.has(buf)) return;
    const key = `${buf.usage}:${buf.size}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buf);
  }

  /** Destroys the free buffers (e.g. after a large one-off op). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.all.delete(b);
        this.bytes -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
  }

  destroyAll(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
    this.bytes = 0;
  }
}
