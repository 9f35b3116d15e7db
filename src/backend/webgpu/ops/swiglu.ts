// SwiGLU forward/backward on WebGPU (kernels/swiglu.wgsl): gu (N, 2F) = [gate | up], out/dOut (N, F),
// dGu (N, 2F) overwritten. Leading dims may be split (e.g. (B, T, 2F)).
import { swigluBackwardDims, swigluDims } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";

export function encodeSwiglu(rt: Runtime, out: Tensor, gu: Tensor): void {
  const { n, f } = swigluDims(out, gu);
  if (n * f === 0) return;
  rt.dispatch({
    ...kernel("swiglu"),
    entry: "forward",
    bindings: [out, gu],
    params: packParams([0, 0, 0, n, f]),
    offsetWords: [0, 1],
    workgroups: Math.ceil((n * f) / 256),
  });
}

export function encodeSwigluBackward(rt: Runtime, dGu: Tensor, dOut: Tensor, gu: Tensor): void {
  const { n, f } = swigluBackwardDims(dGu, dOut, gu);
  if (n * f === 0) return;
  rt.dispatch({
    ...kernel("swiglu"),
    entry: "backward",
    bindings: [dGu, gu, dOut],
    params: packParams([0, 0, 0, n, f]),
    offsetWords: [0, 1, 2],
    workgroups: Math.ceil((n * f) / 256),
  });
}
