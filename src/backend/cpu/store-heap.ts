// The f32 backend's storage: buffers are blocks of one SharedHeap (shared WebAssembly.Memory);
// f32 -> Float32Array, f16/bf16 -> Uint16Array bits, i32 -> Int32Array views. f16/bf16 inputs are
// widened on the fly (a JS copy, or a heap scratch block when a wasm kernel needs a pointer).
import { BackendError } from "../../errors.js";
import {
  fromBf16Array,
  fromF16Array,
  toBf16Array,
  toBf16Bits,
  toF16Array,
  toF16Bits,
} from "../dtype-convert.js";
import type { IntSpan, Span } from "../reference/types.js";
import { bytesPerElement, type DeviceBuffer, numel, type Tensor } from "../tensor.js";
import type { SharedHeap } from "./heap.js";
import { checkWriteData, type Store } from "./store.js";

export class HeapStore implements Store {
  readonly precision = "f32";
  private readonly offsets = new Map<number, number>(); // buffer id -> byte offset

  constructor(readonly heap: SharedHeap) {}

  allocate(b: DeviceBuffer): void {
    this.offsets.set(b.id, this.heap.alloc(b.size * bytesPerElement(b.dtype)));
  }
  release(b: DeviceBuffer): void {
    const off = this.offsets.get(b.id);
    if (off === undefined) return;
    this.offsets.delete(b.id);
    this.heap.release(off);
  }

  /** Byte offset of t's first element in the shared memory. */
  bytePtr(t: Tensor): number {
    const off = this.offsets.get(t.buffer.id);
    if (off === undefined) throw new BackendError(`buffer "${t.buffer.label}" was destroyed`);
    return off + t.offset * bytesPerElement(t.dtype);
  }
  private bits(t: Tensor): Uint16Array {
    const i = this.bytePtr(t) / 2;
    return this.heap.u16.subarray(i, i + numel(t.shape));
  }

  input(t: Tensor): Span {
    if (t.dtype === "f32") return { data: this.heap.f32, off: this.bytePtr(t) / 4 };
    if (t.dtype === "f16") return { data: fromF16Array(this.bits(t)), off: 0 };
    if (t.dtype === "bf16") return { data: fromBf16Array(this.bits(t)), off: 0 };
    throw new BackendError(`internal: ${t.dtype} tensor used as float`);
  }
  output(t: Tensor): Span {
    if (t.dtype !== "f32") throw new BackendError(`internal: ${t.dtype} tensor used as f32 output`);
    return { data: this.heap.f32, off: this.bytePtr(t) / 4 };
  }
  ints(t: Tensor): IntSpan {
    if (t.dtype !== "i32") throw new BackendError(`internal: ${t.dtype} tensor used as i32`);
    return { data: this.heap.i32, off: this.bytePtr(t) / 4 };
  }

  /**
   * Runs `fn` with the byte pointer of an f32 copy of t: t itself when f32, else a scratch block
   * in the heap holding t widened (freed afterwards). For wasm kernels that take pointers.
   */
  withF32Ptr<R>(t: Tensor, fn: (ptr: number) => R): R {
    if (t.dtype === "f32") return fn(this.bytePtr(t));
    const n = numel(t.shape);
    const scratch = this.heap.alloc(n * 4);
    try {
      const wide = this.input(t);
      this.heap.f32.set(wide.data.subarray(wide.off, wide.off + n), scratch / 4);
      return fn(scratch);
    } finally {
      this.heap.release(scratch);
    }
  }

  store(t: Tensor, src: Span): void {
    const n = numel(t.shape);
    const values = src.data.subarray(src.off, src.off + n);
    if (t.dtype === "f32") this.heap.f32.set(values, this.bytePtr(t) / 4);
    else if (t.dtype === "f16") toF16Array(values, this.bits(t));
    else if (t.dtype === "bf16") toBf16Array(values, this.bits(t));
    else throw new BackendError(`internal: cannot store floats into ${t.dtype}`);
  }
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
    checkWriteData(t, data);
    if (data instanceof Int32Array) this.heap.i32.set(data, this.bytePtr(t) / 4);
    else this.store(t, { data, off: 0 });
  }
  read(t: Tensor): Float32Array | Int32Array {
    const n = numel(t.shape);
    if (t.dtype === "i32") {
      const i = this.bytePtr(t) / 4;
      return this.heap.i32.slice(i, i + n);
    }
    if (t.dtype === "f32") {
      const i = this.bytePtr(t) / 4;
      return this.heap.f32.slice(i, i + n);
    }
    return t.dtype === "f16" ? fromF16Array(this.bits(t)) : fromBf16Array(this.bits(t));
  }
  fill(t: Tensor, value: number): void {
    const n = numel(t.shape);
    if (t.dtype === "f16" || t.dtype === "bf16") {
      this.bits(t).fill(t.dtype === "f16" ? toF16Bits(value) : toBf16Bits(value));
      return;
    }
    const i = this.bytePtr(t) / 4;
    if (t.dtype === "f32") this.heap.f32.fill(value, i, i + n);
    else this.heap.i32.fill(value | 0, i, i + n);
  }
  dispose(): void {
    for (const off of this.offsets.values()) this.heap.release(off);
    this.offsets.clear();
  }
}
