// The f64 oracle's storage: each float buffer a Float64Array (f16/bf16 buffers hold values rounded
// to that dtype on write, cast and fill; f32 buffers keep full f64), each i32 buffer an Int32Array.
// Used by tests as the exact reference; not meant to be fast.
import { BackendError } from "../../errors.js";
import { roundToBf16, roundToF16 } from "../dtype-convert.js";
import type { IntSpan, Span } from "../reference/types.js";
import { type DeviceBuffer, type DType, numel, type Tensor } from "../tensor.js";
import { checkWriteData, type Store } from "./store.js";

const rounder = (dtype: DType): ((x: number) => number) =>
  dtype === "f16" ? roundToF16 : dtype === "bf16" ? roundToBf16 : (x) => x;

export class F64Store implements Store {
  readonly precision = "f64";
  private readonly arrays = new Map<number, Float64Array | Int32Array>();

  allocate(b: DeviceBuffer): void {
    this.arrays.set(b.id, b.dtype === "i32" ? new Int32Array(b.size) : new Float64Array(b.size));
  }
  release(b: DeviceBuffer): void {
    this.arrays.delete(b.id);
  }
  private arr(t: Tensor): Float64Array | Int32Array {
    const a = this.arrays.get(t.buffer.id);
    if (!a) throw new BackendError(`buffer "${t.buffer.label}" was destroyed`);
    return a;
  }
  private floats(t: Tensor): Float64Array {
    const a = this.arr(t);
    if (!(a instanceof Float64Array)) throw new BackendError(`internal: ${t.dtype} tensor used as float`);
    return a;
  }
  input(t: Tensor): Span {
    return { data: this.floats(t), off: t.offset };
  }
  output(t: Tensor): Span {
    return { data: this.floats(t), off: t.offset };
  }
  ints(t: Tensor): IntSpan {
    const a = this.arr(t);
    if (!(a instanceof Int32Array)) throw new BackendError(`internal: ${t.dtype} tensor used as i32`);
    return { data: a, off: t.offset };
  }
  store(t: Tensor, src: Span): void {
    const dst = this.floats(t);
    const round = rounder(t.dtype);
    const n = numel(t.shape);
    for (let i = 0; i < n; i++) dst[t.offset + i] = round(src.data[src.off + i]!);
  }
  write(t: Tensor, data: Float32Array | Float64Array | Int32Array): void {
    checkWriteData(t, data);
    if (data instanceof Int32Array) this.ints(t).data.set(data, t.offset);
    else this.store(t, { data, off: 0 });
  }
  read(t: Tensor): Float64Array | Int32Array {
    return this.arr(t).slice(t.offset, t.offset + numel(t.shape));
  }
  fill(t: Tensor, value: number): void {
    const v = t.dtype === "i32" ? value | 0 : rounder(t.dtype)(value);
    this.arr(t).fill(v, t.offset, t.offset + numel(t.shape));
  }
  dispose(): void {
    this.arrays.clear();
  }
}
