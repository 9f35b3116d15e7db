// Optimizer ops on WebGPU: sumSquares (two-stage deterministic reduction, kernels/sum_squares.wgsl)
// and one AdamW step with the device-side clip factor min(1, maxNorm / sqrt(sumSq))
// (kernels/adamw.wgsl). Bias corrections are computed on the host in f64. Both stream vec4 when
// sizes and offsets are multiples of 4. Bytes at 30M parameters: sumSquares 120 MB read (+7 KB
// partials), adamw 840 MB (4 reads + 3 writes per element), one dispatch (+1 finish) each.
import type { AdamWOptions } from "../../backend.js";
import { ShapeError } from "../../../errors.js";
import { adamwNumel, checkSumSquares } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { numel } from "../../tensor.js";
import { kernel, lanesFor } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";

/** FV elements per `partial` workgroup (256 threads x PER in sum_squares.wgsl). */
const CHUNK = 256 * 16;

export function encodeSumSquares(rt: Runtime, out: Tensor, xs: readonly Tensor[]): void {
  checkSumSquares(out, xs);
  const lanes = xs.map((x) => lanesFor(numel(x.shape), x));
  const chunks = xs.map((x, i) => Math.ceil(numel(x.shape) / (CHUNK * lanes[i]!)));
  const total = chunks.reduce((a, b) => a + b, 0);
  const partials = rt.scratch(Math.max(1, total), "f32", "sumSquares partials");
  let base = 0;
  xs.forEach((x, i) => {
    const c = chunks[i]!;
    if (c === 0) return;
    rt.dispatch({
      ...kernel("sum_squares", lanes[i]),
      entry: "partial",
      bindings: [partials, x],
      params: packParams([0, 0, numel(x.shape), base]),
      offsetWords: [0, 1],
      workgroups: c,
    });
    base += c;
  });
  rt.dispatch({
    ...kernel("sum_squares", 1),
    entry: "finish",
    bindings: [out, partials],
    params: packParams([0, 0, total, 0]),
    offsetWords: [0, 1],
    workgroups: [1, 1, 1],
  });
}

export function encodeAdamw(
  rt: Runtime,
  io: { param: Tensor; grad: Tensor; m: Tensor; v: Tensor },
  opts: AdamWOptions,
): void {
  const { param, grad, m, v } = io;
  const n = adamwNumel(io, opts);
  if (!(opts.step >= 1)) throw new ShapeError(`adamw step must be >= 1 (1-based), got ${opts.step}`);
  if (n === 0) return;
  const lanes = lanesFor(n, param, grad, m, v);
  rt.dispatch({
    ...kernel("adamw", lanes),
    bindings: [param, m, v, grad, opts.clip?.sumSq ?? grad],
    params: packParams([
      0,
      0,
      0,
      0,
      0,
      n,
      opts.clip ? 1 : 0,
      f32(opts.lr),
      f32(opts.beta1),
      f32(opts.beta2),
      f32(opts.eps),
      f32(opts.weightDecay),
      f32(1 - opts.beta1 ** opts.step),
      f32(1 - opts.beta2 ** opts.step),
      f32(opts.gradScale ?? 1),
      f32(opts.clip?.maxNorm ?? 0),
    ]),
    offsetWords: [0, 1, 2, 3, 4],
    workgroups: Math.ceil(n / lanes / 256),
  });
}
