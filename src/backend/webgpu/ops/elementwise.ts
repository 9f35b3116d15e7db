// Elementwise ops on the WebGPU runtime: fill (any dtype), cast (f32/f16/bf16), add, scale (f32).
// Shapes are validated here (ShapeError naming the argument); kernels are kernels/fill.wgsl,
// cast.wgsl (copy_vec4.wgsl for a same-dtype cast of 16-byte aligned ranges) and elementwise.wgsl. Aliasing (out == x) is handled by the runtime.
import { ShapeError } from "../../../errors.js";
import { toBf16Bits, toF16Bits } from "../../dtype-convert.js";
import type { Tensor } from "../../tensor.js";
import { bytesPerElement, expectDType, numel } from "../../tensor.js";
import { dtypeCode, kernel } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";

const WG = 256;

/** Workgroups for one thread per destination word of n elements at element offset `off`. */
function wordGroups(n: number, sixteen: boolean): number {
  return Math.ceil((sixteen ? Math.ceil(n / 2) + 1 : n) / WG);
}

export function encodeFill(rt: Runtime, t: Tensor, value: number): void {
  rt.check(t, "fill");
  const n = numel(t.shape);
  if (n === 0) return;
  let bits: number;
  if (t.dtype === "f32") bits = new Uint32Array(new Float32Array([value]).buffer)[0] as number;
  else if (t.dtype === "i32") {
    if (!Number.isInteger(value))
      throw new ShapeError(`fill of an i32 tensor needs an integer, got ${value}`);
    bits = value >>> 0;
  } else bits = t.dtype === "f16" ? toF16Bits(value) : toBf16Bits(value);
  const half = t.dtype === "f16" || t.dtype === "bf16";
  rt.dispatch({
    ...kernel("fill"),
    bindings: [t],
    params: packParams([0, n, bits, half ? 1 : 0]),
    offsetWords: [0],
    workgroups: wordGroups(n, half),
  });
}

export function encodeCast(rt: Runtime, out: Tensor, src: Tensor): void {
  expectDType("cast out", out, "f32", "f16", "bf16");
  expectDType("cast src", src, "f32", "f16", "bf16");
  const n = numel(out.shape);
  if (numel(src.shape) !== n) {
    throw new ShapeError(
      `cast out [${out.shape}] and src [${src.shape}] must have the same number of elements`,
    );
  }
  if (n === 0) return;
  const bpe = bytesPerElement(out.dtype);
  if (
    out.dtype === src.dtype &&
    (out.offset * bpe) % 16 === 0 &&
    (src.offset * bpe) % 16 === 0 &&
    (n * bpe) % 16 === 0
  ) {
    // a copy of whole 16-byte words (e.g. `bench decode`'s copy bandwidth)
    const n4 = (n * bpe) / 16;
    rt.dispatch({
      ...kernel("copy_vec4"),
      constants: { EPV: 16 / bpe },
      bindings: [out, src],
      params: packParams([0, 0, n4]),
      offsetWords: [0, 1],
      workgroups: Math.ceil(n4 / WG),
    });
    return;
  }
  const half = out.dtype !== "f32";
  rt.dispatch({
    ...kernel("cast"),
    constants: { DT_SRC: dtypeCode(src.dtype), DT_DST: dtypeCode(out.dtype) },
    bindings: [out, src],
    params: packParams([0, 0, n]),
    offsetWords: [0, 1],
    workgroups: wordGroups(n, half),
  });
}

function expectSame(what: string, t: Tensor, like: Tensor): void {
  expectDType(what, t, "f32");
  if (numel(t.shape) !== numel(like.shape)) {
    throw new ShapeError(`${what} [${t.shape}] must have as many elements as out [${like.shape}]`);
  }
}

export function encodeAdd(rt: Runtime, out: Tensor, a: Tensor, b: Tensor, alpha = 1, beta = 1): void {
  expectDType("add out", out, "f32");
  expectSame("add a", a, out);
  expectSame("add b", b, out);
  const n = numel(out.shape);
  if (n === 0) return;
  rt.dispatch({
    ...kernel("elementwise"),
    entry: "add",
    bindings: [out, a, b],
    params: packParams([0, 0, 0, n, f32(alpha), f32(beta)]),
    offsetWords: [0, 1, 2],
    workgroups: Math.ceil(n / WG),
  });
}

export function encodeScale(rt: Runtime, out: Tensor, x: Tensor, alpha: number): void {
  expectDType("scale out", out, "f32");
  expectSame("scale x", x, out);
  const n = numel(out.shape);
  if (n === 0) return;
  rt.dispatch({
    ...kernel("elementwise"),
    entry: "scale",
    bindings: [out, x],
    params: packParams([0, 0, 0, n, f32(alpha), f32(0)]),
    offsetWords: [0, 1],
    workgroups: Math.ceil(n / WG),
  });
}
