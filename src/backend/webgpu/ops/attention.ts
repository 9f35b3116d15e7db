// WebGPU fused attention forward/backward (being written by the webgpu-kernels engineer).
// Contract: see Backend.attention / attentionBackward in ../../backend.ts. Dispatch through
// Runtime.dispatch (API in ../runtime.ts header); bindings at @binding(1..), offsets via offsetWords.
import type { AttentionOptions } from "../../backend.js";
import { BackendError } from "../../../errors.js";
import type { Tensor } from "../../tensor.js";
import type { Runtime } from "../runtime.js";

export interface AttentionBackwardArgs {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dOut: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  out: Tensor;
  lse: Tensor;
}

export function encodeAttention(
  _rt: Runtime,
  _io: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor },
  _opts: AttentionOptions,
): void {
  throw new BackendError("webgpu attention is being written: use the cpu backend for now");
}

export function encodeAttentionBackward(
  _rt: Runtime,
  _io: AttentionBackwardArgs,
  _opts: AttentionOptions & { accumulateKV?: boolean },
): void {
  throw new BackendError("webgpu attentionBackward is being written: use the cpu backend for now");
}
