// CPU-only validation: id/target ranges (the CPU reads the values; other backends cannot afford
// to). The shape/dtype checks of every op, shared with the other backends, are in ../op-shapes.ts
// and ../op-shapes-attention.ts.
import { ShapeError } from "../../errors.js";
import { expectDType, type Tensor } from "../tensor.js";

/** Ids/targets must be i32 with n elements, each in [lo, hi). Reads them: the CPU can afford it. */
export function checkIds(
  what: string,
  ids: Tensor,
  values: Int32Array,
  range: { lo: number; hi: number },
): void {
  expectDType(what, ids, "i32");
  for (let i = 0; i < values.length; i++) {
    const id = values[i]!;
    if (id < range.lo || id >= range.hi) {
      throw new ShapeError(
        `${what}[${i}] = ${id} is outside [${range.lo}, ${range.hi}): fix the data or the vocab size`,
      );
    }
  }
}

export function checkFloat32(what: string, ...ts: Tensor[]): void {
  for (const t of ts) expectDType(what, t, "f32");
}
