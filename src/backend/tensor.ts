// Tensors are typed views into backend buffers: (buffer, element offset, shape, dtype).
// A view owns nothing; parameters, gradients and optimizer state live in a few flat buffers and
// every layer's weight is a view at an offset (llm.c style). Row-major, contiguous.
import { ShapeError } from "../errors.js";

/** Storage dtypes. Compute is always f32 (or f64 in the reference); i32 is for token ids. */
export type DType = "f32" | "f16" | "bf16" | "i32";

export const DTYPES: readonly DType[] = ["f32", "f16", "bf16", "i32"];

/** Bytes per element of a storage dtype. */
export function bytesPerElement(dtype: DType): number {
  return dtype === "f16" || dtype === "bf16" ? 2 : 4;
}

/** A backend-owned allocation. `size` is in elements of `dtype`. */
export interface DeviceBuffer {
  readonly id: number;
  readonly size: number;
  readonly dtype: DType;
  readonly label: string;
}

/** A contiguous row-major view: elements [offset, offset + numel(shape)) of `buffer`. */
export interface Tensor {
  readonly buffer: DeviceBuffer;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The whole buffer (or its first numel(shape) elements) as a tensor of `shape`. */
export function view(buffer: DeviceBuffer, shape: readonly number[], offset = 0): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`shape [${shape}] has a bad dimension ${d}`);
  }
  const n = numel(shape);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > buffer.size) {
    throw new ShapeError(
      `view [${shape}] at offset ${offset} needs ${offset + n} elements but buffer "${buffer.label}" has ${buffer.size}`,
    );
  }
  return { buffer, offset, shape: [...shape], dtype: buffer.dtype };
}

/** Same elements, another shape. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== numel(t.shape)) {
    throw new ShapeError(`cannot reshape [${t.shape}] (${numel(t.shape)} elements) to [${shape}]`);
  }
  return { ...t, shape: [...shape] };
}

/** Rows [start, start + count) of the leading dimension. */
export function slice0(t: Tensor, start: number, count: number): Tensor {
  const [d0, ...rest] = t.shape;
  if (d0 === undefined || start < 0 || start + count > d0) {
    throw new ShapeError(`slice0(${start}, ${count}) is out of range for shape [${t.shape}]`);
  }
  const inner = numel(rest);
  return { ...t, offset: t.offset + start * inner, shape: [count, ...rest] };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a ShapeError naming `what` unless `t` has exactly `shape`. */
export function expectShape(what: string, t: Tensor, shape: readonly number[]): void {
  if (!sameShape(t.shape, shape))
    throw new ShapeError(`${what} must have shape [${shape}], got [${t.shape}]`);
}

export function expectDType(what: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new ShapeError(`${what} must have dtype ${allowed.join(" or ")}, got ${t.dtype}`);
  }
}
