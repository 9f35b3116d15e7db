// SwiGLU forward/backward on WebGPU (kernels/swiglu.wgsl): gu (N, 2F) = [gate | up], out/dOut (N, F),
// dGu (N, 2F) overwritten. Leading dims may be split (e.g. (B, T, 2F)).
import { ShapeError } from "../../../errors.js";
import { rowsOf } from "../../cpu/validate.js";
import type { Tensor } from "../../tensor.js";
import { expectDType, expectShape } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";

function dims(op: string, half: Tensor, gu: Tensor, halfName: string): { n: number; f: number } {
  expectDType(`${op} gu`, gu, "f32");
  expectDType(`${op} ${halfName}`, half, "f32");
  const { n, c } = rowsOf(`${op} gu`, gu);
  if (c % 2 !== 0) throw new ShapeError(`${op} gu last dim ${c} must be even (2F = [gate | up])`);
  expectShape(`${op} ${halfName}`, half, [...gu.shape.slice(0, -1), c / 2]);
  return { n, f: c / 2 };
}

export function encodeSwiglu(rt: Runtime, out: Tensor, gu: Tensor): void {
  const { n, f } = dims("swiglu", out, gu, "out");
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
  const { n, f } = dims("swigluBackward", dOut, gu, "dOut");
  expectDType("swigluBackward dGu", dGu, "f32");
  expectShape("swigluBackward dGu", dGu, gu.shape);
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
