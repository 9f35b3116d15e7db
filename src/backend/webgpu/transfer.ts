// Host <-> device transfers with dtype conversion: write() packs f32/f64 data to the tensor's dtype
// (f16/bf16 RNE via ../dtype-convert.ts, two per u32) and read() widens back to f32 (i32 stays i32).
// 16-bit views at odd offsets/lengths go through a scratch upload + a bit-exact cast kernel, so the
// neighbouring halves outside the view are never touched. It does not know any op.
import { ShapeError } from "../../errors.js";
import { fromBf16Array, fromF16Array, toBf16Array, toF16Array } from "../dtype-convert.js";
import type { Tensor } from "../tensor.js";
import { numel } from "../tensor.js";
import { encodeCast } from "./ops/elementwise.js";
import type { Runtime } from "./runtime.js";

type HostData = Float32Array | Float64Array | Int32Array;

function hostBytes(t: Tensor, data: HostData): Uint8Array {
  const n = numel(t.shape);
  if (data.length !== n) {
    throw new ShapeError(`write: tensor [${t.shape}] has ${n} elements but the data has ${data.length}`);
  }
  const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case "i32": {
      if (data instanceof Int32Array) return asBytes(data);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = data[i] as number;
        if (!Number.isInteger(v)) throw new ShapeError(`write: i32 tensor got non-integer ${v} at ${i}`);
        out[i] = v;
      }
      return asBytes(out);
    }
    case "f32":
      return asBytes(data instanceof Float32Array ? data : Float32Array.from(data));
    default: {
      const src = data instanceof Int32Array ? Float64Array.from(data) : data;
      const halves = new Uint16Array(n + (n & 1));
      if (t.dtype === "f16") toF16Array(src, halves.subarray(0, n));
      else toBf16Array(src, halves.subarray(0, n));
      return asBytes(halves);
    }
  }
}

export function writeTensor(rt: Runtime, t: Tensor, data: HostData): void {
  rt.check(t, "write");
  rt.beginOp();
  const bytes = hostBytes(t, data);
  const n = numel(t.shape);
  if (n === 0) return;
  const sixteen = t.dtype === "f16" || t.dtype === "bf16";
  if (!sixteen || (t.offset % 2 === 0 && n % 2 === 0)) {
    rt.writeBytes(t, t.offset * (sixteen ? 2 : 4), bytes);
    return;
  }
  // Odd 16-bit edges: upload the packed halves to scratch, then copy them in with the cast kernel.
  const tmp = rt.scratch(n + (n & 1), t.dtype, "write staging");
  rt.writeBytes(tmp, 0, bytes);
  encodeCast(rt, t, { ...tmp, shape: t.shape });
}

export async function readTensor(rt: Runtime, t: Tensor): Promise<Float32Array | Int32Array> {
  rt.check(t, "read");
  const n = numel(t.shape);
  const { bytes, first } = await rt.readWords(t);
  switch (t.dtype) {
    case "f32":
      return new Float32Array(bytes, first * 4, n).slice();
    case "i32":
      return new Int32Array(bytes, first * 4, n).slice();
    case "f16":
      return fromF16Array(new Uint16Array(bytes, first * 2, n));
    default:
      return fromBf16Array(new Uint16Array(bytes, first * 2, n));
  }
}
