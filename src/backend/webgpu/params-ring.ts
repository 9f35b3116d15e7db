// The uniform params ring: every dispatch's parameters (<= PARAM_BYTES) go into their own slot of
// one host-side array, bound at binding 0 with a dynamic offset; the used slots are uploaded with one
// writeBuffer right before the submit that uses them. Tapes snapshot and reload slots [0, count).
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
  private readonly data: ArrayBuffer;

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
    if (this.used) queue.writeBuffer(this.buffer, 0, this.data, 0, this.used * this.stride);
    this.used = 0;
  }

  /** A copy of slots [0, used). */
  snapshot(): Uint8Array {
    return new Uint8Array(this.data.slice(0, this.used * this.stride));
  }

  /** Makes slots [0, count) hold `bytes` (a snapshot); the ring must be empty. */
  load(bytes: Uint8Array, count: number): void {
    new Uint8Array(this.data).set(bytes, 0);
    this.used = count;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
