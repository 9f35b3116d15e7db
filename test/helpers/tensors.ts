// Test helper: a tensor of the given shape filled with `data` (f32 for floats, i32 for
// Int32Array), optionally `offset` elements into its buffer. Not a test file.
import type { Backend } from "../../src/backend/backend.js";
import { type Tensor, view } from "../../src/backend/tensor.js";

export function put(be: Backend, shape: number[], data: Float32Array | Int32Array, offset = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = view(be.createBuffer(n + offset, data instanceof Int32Array ? "i32" : "f32", "t"), shape, offset);
  be.write(t, data);
  return t;
}
