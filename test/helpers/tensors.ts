// Test helpers: a tensor of the given shape filled with `data` (f32 for floats, i32 for
// Int32Array, or a storage dtype), optionally `offset` elements into its buffer. Not a test file.
import type { Backend } from "../../src/backend/backend.js";
import { type DType, type Tensor, view } from "../../src/backend/tensor.js";

export function put(be: Backend, shape: number[], data: Float32Array | Int32Array, offset = 0): Tensor {
  return putAs(be, shape, data instanceof Int32Array ? "i32" : "f32", data, offset);
}

/** `put` with the storage dtype given (f16/bf16 pools: the values are rounded as they are written). */
export function putAs(
  be: Backend,
  shape: number[],
  dtype: DType,
  data: Float32Array | Int32Array,
  offset = 0,
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = view(be.createBuffer(n + offset, dtype, "t"), shape, offset);
  be.write(t, data);
  return t;
}
