// Rotary embedding on WebGPU (kernels/rope.wgsl): x, out (N, Hx, D) (leading dims may be split),
// positions (N) i32, each in [0, 2^24). cos/sin tables for the three base-256 digits of a position
// are computed on the host in f64 once per (base, D) and kept on the device. out may alias x.
import { ropeDims } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";

/** [3][256][D/2][cos, sin] of digit * 256^level * base^(-2i/D), as rope.wgsl reads it. */
export function ropeTable(base: number, d: number): Float32Array {
  const half = d / 2;
  const out = new Float32Array(3 * 256 * half * 2);
  for (let level = 0; level < 3; level++) {
    for (let k = 0; k < 256; k++) {
      for (let i = 0; i < half; i++) {
        const ang = k * 256 ** level * base ** ((-2 * i) / d);
        const o = ((level * 256 + k) * half + i) * 2;
        out[o] = Math.cos(ang);
        out[o + 1] = Math.sin(ang);
      }
    }
  }
  return out;
}

export function encodeRope(
  rt: Runtime,
  io: { out: Tensor; x: Tensor; positions: Tensor },
  opts: { base: number; inverse: boolean },
): void {
  const { out, x, positions } = io;
  const { n, heads, d } = ropeDims(out, x, positions);
  const total = n * heads * (d / 2);
  if (total === 0) return;
  const table = rt.constant(`rope:${opts.base}:${d}`, () => ropeTable(opts.base, d));
  rt.dispatch({
    ...kernel("rope"),
    bindings: [out, x, positions, table],
    params: packParams([0, 0, 0, 0, n, heads, d, opts.inverse ? 1 : 0]),
    offsetWords: [0, 1, 2, 3],
    workgroups: Math.ceil(total / 256),
  });
}
