// Cross entropy forward/backward on WebGPU: logits (N, V) f32 (leading dims may be split), targets
// (N) i32 with -1 = ignored row. Targets are not read back: one outside [-1, V) gives a NaN loss
// (forward) so the error is visible without a GPU stall. The forward (kernels/cross_entropy.wgsl)
// also saves each row's logsumexp in a runtime-owned buffer tagged with the logits view and its
// buffer version (bumped by every write): a backward on the same, unchanged logits reuses it and
// is one elementwise pass (kernels/cross_entropy_backward.wgsl); otherwise it runs the forward into
// scratch first. Bytes at N 16384, V 8192: forward 537 MB read, backward 537 MB read + 537 MB write.
// vec4 loads when V and the views' offsets are multiples of 4 (kernel-source.ts lanesFor).
import { crossEntropyBackwardDims, crossEntropyDims } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { view } from "../../tensor.js";
import { kernel, lanesFor } from "../kernel-source.js";
import { f32, packParams, type Runtime, type WgBuffer } from "../runtime.js";

interface LseCache {
  buffer: WgBuffer;
  /** logits buffer id, offset, n, v, version at the forward. */
  tag: string;
}
const saved = new WeakMap<Runtime, LseCache>();

function tagOf(logits: Tensor, n: number, v: number): string {
  const b = logits.buffer as WgBuffer;
  return `${b.id}:${logits.offset}:${n}:${v}:${b.version}`;
}

/** A runtime-owned (n) f32 tensor for the forward's lse (grown as needed; contents replaced). */
function lseBuffer(rt: Runtime, n: number): Tensor {
  let c = saved.get(rt);
  if (!c || c.buffer.size < n || c.buffer.destroyed) {
    if (c && !c.buffer.destroyed) rt.destroyBuffer(c.buffer);
    c = { buffer: rt.createBuffer(Math.max(n, 1024), "f32", "crossEntropy lse"), tag: "" };
    saved.set(rt, c);
  }
  c.tag = "";
  return view(c.buffer, [n]);
}

/** Records the forward on already validated (N, V) logits. */
function dispatchForward(
  rt: Runtime,
  io: { losses: Tensor; lse: Tensor; logits: Tensor; targets: Tensor },
  dims: { n: number; v: number },
) {
  const { n, v } = dims;
  rt.dispatch({
    ...kernel("cross_entropy", lanesFor(v, io.logits)),
    bindings: [io.logits, io.targets, io.losses, io.lse],
    params: packParams([0, 0, 0, 0, n, v]),
    offsetWords: [0, 1, 2, 3],
    workgroups: n,
  });
}

export function encodeCrossEntropy(rt: Runtime, losses: Tensor, logits: Tensor, targets: Tensor): void {
  const { n, v } = crossEntropyDims(losses, logits, targets);
  rt.check(logits, "crossEntropy logits");
  if (n === 0) return;
  const lse = lseBuffer(rt, n);
  dispatchForward(rt, { losses, lse, logits, targets }, { n, v });
  saved.get(rt)!.tag = tagOf(logits, n, v);
}

export function encodeCrossEntropyBackward(
  rt: Runtime,
  io: { dLogits: Tensor; logits: Tensor; targets: Tensor },
  scale: number,
): void {
  const { dLogits, logits, targets } = io;
  const { n, v } = crossEntropyBackwardDims(dLogits, logits, targets);
  rt.check(logits, "crossEntropyBackward logits");
  if (n === 0) return;
  const c = saved.get(rt);
  let lse: Tensor;
  if (c && !c.buffer.destroyed && c.tag === tagOf(logits, n, v)) lse = view(c.buffer, [n]);
  else {
    lse = rt.scratch(n, "f32", "crossEntropy lse");
    const losses = rt.scratch(n, "f32", "crossEntropy losses");
    dispatchForward(rt, { losses, lse, logits, targets }, { n, v });
  }
  rt.dispatch({
    ...kernel("cross_entropy_backward", lanesFor(v, logits, dLogits)),
    bindings: [dLogits, logits, targets, lse],
    params: packParams([0, 0, 0, 0, n, v, f32(scale)]),
    offsetWords: [0, 1, 2, 3],
    workgroups: n,
  });
}
