// Kernel uniform params: a list of 32-bit words packed into an ArrayBuffer. Plain numbers are u32
// (non-negative integers); wrap floats with f32(x) and signed ints with i32(x).
// The WGSL side declares a struct of u32/f32/i32 fields in the same order.
import { BackendError } from "../../errors.js";

export interface TypedParam {
  readonly kind: "f32" | "i32";
  readonly value: number;
}

export function f32(value: number): TypedParam {
  return { kind: "f32", value };
}

export function i32(value: number): TypedParam {
  return { kind: "i32", value };
}

export function packParams(values: readonly (number | TypedParam)[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  const s = new Int32Array(buf);
  values.forEach((v, i) => {
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new BackendError(
          `kernel param ${i} = ${v} is not a u32: wrap floats in f32() and signed ints in i32()`,
        );
      }
      u[i] = v;
    } else if (v.kind === "f32") {
      f[i] = v.value;
    } else {
      s[i] = v.value;
    }
  });
  return buf;
}
