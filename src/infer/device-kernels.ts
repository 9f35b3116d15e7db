// The engine step's two device-side helpers beyond the Backend contract: a small-M linear layer
// (decode GEMV, optionally accumulating into its output) and a per-row argmax for greedy sampling.
// On webgpu they are kernels of ops/paged.ts; elsewhere `linear` is Backend.matmul and argmax is
// absent (the engine reads the logits and samples on the host, which costs nothing extra there).
import type { Backend } from "../backend/backend.js";
import type { Tensor } from "../backend/tensor.js";
import { encodeArgmaxRows, encodeDecodeLinear } from "../backend/webgpu/ops/paged.js";
import { Runtime } from "../backend/webgpu/runtime.js";

export interface StepKernels {
  /** out (M, N) = x (M, K) @ w (N, K)^T, or out += it when `accumulate`. */
  linear(out: Tensor, x: Tensor, w: Tensor, accumulate?: boolean): void;
  /** out (M) i32 = argmax of each logits row (M, V), -1 for a NaN/+Inf row; null: not on this backend. */
  argmax: ((out: Tensor, logits: Tensor) => void) | null;
}

/** The backend's runtime when it is the webgpu backend (duck-typed: infer/ holds no backend class). */
function webgpuRuntime(be: Backend): Runtime | null {
  if (be.name !== "webgpu") return null;
  const rt = (be as unknown as { rt?: unknown }).rt;
  return rt instanceof Runtime ? rt : null;
}

export function stepKernels(be: Backend): StepKernels {
  const rt = webgpuRuntime(be);
  const matmul = (out: Tensor, x: Tensor, w: Tensor, accumulate = false) =>
    be.matmul(out, x, w, { transB: true, accumulate });
  if (rt === null) return { linear: matmul, argmax: null };
  return {
    linear(out, x, w, accumulate = false) {
      if (!encodeDecodeLinear(rt, { out, x, w }, accumulate)) matmul(out, x, w, accumulate);
    },
    argmax: (out, logits) => encodeArgmaxRows(rt, out, logits),
  };
}
