// RMSNorm forward/backward on WebGPU (kernels/rmsnorm.wgsl, rmsnorm_backward.wgsl). The backward is
// one fused pass (dx and per-block dWeight column partials, dy and x read once) plus an ordered
// reduction of the partials: deterministic, no atomics. At N 16384, C 512: ~130 MB per call
// (was ~195 MB: dWeight re-read dy and x). Shapes: x (N, C) (leading dims split), weight (C), rstd (N).
import { rmsnormBackwardDims, rmsnormDims } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";

/** Rows per fused workgroup and dWeight partial block (ROWS in rmsnorm_backward.wgsl). */
const ROWS = 16;

export function encodeRmsnorm(
  rt: Runtime,
  io: { out: Tensor; rstd: Tensor; x: Tensor; weight: Tensor },
  eps: number,
): void {
  const { n, c } = rmsnormDims(io);
  if (n * c === 0) return;
  rt.dispatch({
    ...kernel("rmsnorm"),
    bindings: [io.out, io.rstd, io.x, io.weight],
    params: packParams([0, 0, 0, 0, n, c, f32(eps)]),
    offsetWords: [0, 1, 2, 3],
    workgroups: n,
  });
}

export interface RmsnormBackwardIo {
  dx: Tensor;
  dWeight: Tensor;
  dOut: Tensor;
  x: Tensor;
  weight: Tensor;
  rstd: Tensor;
}

export function encodeRmsnormBackward(rt: Runtime, io: RmsnormBackwardIo, accumulate: boolean): void {
  const { n, c } = rmsnormBackwardDims({ ...io });
  if (n * c === 0) return;
  const k = kernel("rmsnorm_backward");
  const kc = Math.ceil(c / 256);
  const constants = { ACCUMULATE: accumulate ? 1 : 0, KC: kc, G: kc <= 4 ? 4 : 1 };
  const blocks = Math.ceil(n / ROWS);
  const partial = rt.scratch(blocks * c, "f32", "rmsnorm dWeight partials");
  rt.dispatch({
    ...k,
    entry: "fused",
    constants,
    bindings: [io.dx, io.dOut, io.x, io.weight, io.rstd, partial],
    params: packParams([0, 0, 0, 0, 0, n, c, blocks, 0]),
    offsetWords: [0, 1, 2, 3, 4, 8],
    workgroups: blocks,
  });
  rt.dispatch({
    ...k,
    entry: "dw_reduce",
    constants,
    bindings: [io.dWeight, partial],
    params: packParams([0, 0, 0, 0, 0, n, c, blocks, 0]),
    offsetWords: [0, 1],
    workgroups: Math.ceil(c / 8),
  });
}
