// A dispatch's workgroup grid: [x, y, z] as given (each within the device's per-dimension limit),
// or a count n split into [min(n, max), ceil(n / max), 1] for kernels that use common.wgsl's
// linear_wg(wid, nwg) and return past n. Pure; the runtime calls it for every dispatch.
import { BackendError } from "../../errors.js";

export function workgroupGrid(
  key: string,
  workgroups: number | readonly [number, number?, number?],
  max: number,
): [number, number, number] {
  if (typeof workgroups === "number") {
    const n = workgroups;
    const x = Math.min(n, max);
    const y = x === 0 ? 0 : Math.ceil(n / x);
    if (y > max) throw new BackendError(`kernel ${key}: ${n} workgroups exceed ${max}^2: split the op`);
    return [x, y, 1];
  }
  const [x, y = 1, z = 1] = workgroups;
  if (x > max || y > max || z > max) {
    throw new BackendError(`kernel ${key}: workgroups [${x}, ${y}, ${z}] exceed the device limit ${max}`);
  }
  return [x, y, z];
}
