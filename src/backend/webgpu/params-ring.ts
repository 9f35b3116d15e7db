// The uniform params ring: every dispatch's parameters (<= PARAM_BYTES) go into their own slot of
// one host-side array, bound at binding 0 with a dynamic offset; the used slots are uploaded with one
// writeBuffer right before the submit that uses them. Tapes snapshot and reload slots [0, count);
// a tape replayed again with no other params uploaded in between finds its bytes still in the GPU
// buffer, and neither its host copy nor its upload is repeated (a decode step's ~13 KB per step).
/// <reference types="@webgpu/types" />
import { BackendError } from "../../errors.js";
import { BufferUsage } from "./device.js";

export const PARAM_BYTES = 256;
const SLOTS = 2048;

export class ParamsRing {
  readonly buffer: GPUBuffer;
  /** Bytes between slots (PARAM_BYTES rounded up to the uniform offset alignment). */
  readonly stride: number;
  /** Slots written since the last upload. */
  used = 0;
  /** Uploads made (each one writeBuffer; tests check that a resident tape is not re-uploaded). */
  uploads = 0;
  private readonly data: ArrayBuffer;
  /** The snapshot whose bytes fill slots [0, loadedCount) of `data` (null: other params do). */
  private loaded: Uint8Array | null = null;
  private loadedCount = 0;
  /** The snapshot whose bytes the GPU buffer holds in its first slots, as of the last upload. */
  private resident: Uint8Array | null = null;

  constructor(device: GPUDevice, uniformAlign: number) {
    this.stride = Math.ceil(PARAM_BYTES / uniformAlign) * uniformAlign;
    this.data = new ArrayBuffer(this.stride * SLOTS);
    this.buffer = device.createBuffer({
      size: this.data.byteLength,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      label: "params ring",
    });
  }

  get full(): boolean {
    return this.used >= SLOTS;
  }

  /**
   * Fills the next slot with `params`, then word offsetWords[i] with rels[i].rel; returns the slot's
   * byte offset (the dispatch's dynamic offset). The caller uploads before the ring is full.
   */
  write(
    what: string,
    params: ArrayBuffer | ArrayBufferView | undefined,
    offsetWords?: readonly number[],
    rels?: readonly { readonly rel: number }[],
  ): number {
    if (this.used === 0) this.loaded = null; // slot 0 onwards is overwritten: no snapshot is loaded
    const base = this.used++ * this.stride;
    if (params) {
      const src =
        params instanceof ArrayBuffer
          ? new Uint8Array(params)
          : new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
      if (src.byteLength > PARAM_BYTES) throw new BackendError(`${what} params exceed ${PARAM_BYTES} bytes`);
      new Uint8Array(this.data, base, src.byteLength).set(src);
    }
    if (offsetWords && rels) {
      const words = new Uint32Array(this.data, base, PARAM_BYTES / 4);
      offsetWords.forEach((w, i) => {
        words[w] = rels[i]!.rel;
      });
    }
    return base;
  }

  /** Uploads the used slots (queue order: before the next submit) and empties the ring. */
  upload(queue: GPUQueue): void {
    // slots after a loaded snapshot (written since) still go up; the snapshot's own only if the
    // GPU buffer does not hold them already
    const from = this.loaded !== null && this.loaded === this.resident ? this.loadedCount : 0;
    if (this.used > from) {
      const at = from * this.stride;
      queue.writeBuffer(this.buffer, at, this.data, at, (this.used - from) * this.stride);
      this.uploads++;
    }
    if (this.used > 0) this.resident = this.loaded;
    this.loaded = null;
    this.used = 0;
  }

  /** A copy of slots [0, used) (they stay loaded: the next upload makes them resident). */
  snapshot(): Uint8Array {
    const bytes = new Uint8Array(this.data.slice(0, this.used * this.stride));
    if (this.used > 0) {
      this.loaded = bytes;
      this.loadedCount = this.used;
    }
    return bytes;
  }

  /** Makes slots [0, count) hold `bytes` (a snapshot); the ring must be empty. */
  load(bytes: Uint8Array, count: number): void {
    if (this.used !== 0) throw new BackendError("params ring: load() into a ring with unsent slots");
    // `data` and the GPU buffer still hold it if it was the last upload's snapshot
    if (bytes !== this.resident) new Uint8Array(this.data).set(bytes, 0);
    this.loaded = bytes;
    this.loadedCount = count;
    this.used = count;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
