// Where the CPU backend's buffers live, behind one interface: `F64Store` (the exact oracle: every
// float buffer a Float64Array, f16/bf16 values rounded on write) and `HeapStore` (f32: one shared
// wasm memory). Ops get spans to compute on; the store does dtype conversion, never op math.
import { BackendError, ShapeError } from "../../errors.js";
import type { IntSpan, Span } from "../reference/types.js";
import { type DeviceBuffer, numel, type Tensor } from "../tensor.js";

export interface Store {
  readonly precision: "f32" | "f64";
  allocate(buffer: DeviceBuffer): void;
  release(buffer: DeviceBuffer): void;
  /** A float tensor's values for reading (f16/bf16 may come back as a widened copy). */
  input(t: Tensor): Span;
  /** An f32 tensor's storage, to write results in place (and read them, for accumulation). */
  output(t: Tensor): Span;
  /** An i32 tensor's storage. */
  ints(t: Tensor): IntSpan;
  /** Stores numel(t) values from `src` into t, rounding to t's dtype. */
  store(t: Tensor, src: Span): void;
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void;
  read(t: Tensor): Float32Array | Float64Array | Int32Array;
  fill(t: Tensor, value: number): void;
  dispose(): void;
}

/** Checks that `t` is a live view of one of this backend's buffers; names the tensor on failure. */
export function checkTensor(what: string, t: Tensor, live: (b: DeviceBuffer) => boolean): void {
  if (!live(t.buffer)) {
    throw new BackendError(`${what}: buffer "${t.buffer.label}" was destroyed or belongs to another backend`);
  }
  if (t.dtype !== t.buffer.dtype) {
    throw new ShapeError(
      `${what}: tensor dtype ${t.dtype} differs from its buffer's dtype ${t.buffer.dtype}`,
    );
  }
  const n = numel(t.shape);
  if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset + n > t.buffer.size) {
    throw new ShapeError(
      `${what}: view [${t.shape}] at offset ${t.offset} overruns buffer "${t.buffer.label}" of ${t.buffer.size} elements`,
    );
  }
}

/** Checks host data passed to `write`: length and kind must fit the tensor. */
export function checkWriteData(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
  const n = numel(t.shape);
  if (data.length !== n) {
    throw new ShapeError(`write: data has ${data.length} elements but tensor [${t.shape}] has ${n}`);
  }
  if ((t.dtype === "i32") !== data instanceof Int32Array) {
    throw new ShapeError(
      `write: ${t.dtype} tensor needs ${t.dtype === "i32" ? "an Int32Array" : "a Float32Array or Float64Array"}, got ${data.constructor.name}`,
    );
  }
}
