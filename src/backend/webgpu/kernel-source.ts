// Kernel sources for dispatch: `kernel("add")` is kernels/add.wgsl with kernels/common.wgsl
// prepended (helpers: linear_wg, word_of, decode_elem, encode_half). The WGSL text comes from
// kernels/wgsl.generated.ts (run `node scripts/build-assets.mjs` after editing a .wgsl file).
import { BackendError } from "../../errors.js";
import { WGSL } from "./kernels/wgsl.generated.js";
import type { KernelSource } from "./pipelines.js";

const cache = new Map<string, KernelSource>();

export function kernel(name: string): KernelSource {
  let k = cache.get(name);
  if (!k) {
    const body = WGSL[name];
    const common = WGSL.common;
    if (body === undefined || common === undefined) {
      throw new BackendError(`WGSL kernel "${name}" is not embedded: run \`node scripts/build-assets.mjs\``);
    }
    k = { key: name, source: `${common}\n${body}` };
    cache.set(name, k);
  }
  return k;
}

/** Storage dtype code used by kernels' DT_* override constants. */
export function dtypeCode(dtype: string): number {
  return dtype === "f16" ? 1 : dtype === "bf16" ? 2 : 0;
}
