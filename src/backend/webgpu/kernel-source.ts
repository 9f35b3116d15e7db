// Kernel sources for dispatch: `kernel("add")` is kernels/add.wgsl with kernels/common.wgsl
// prepended (and `kernelWith(name, [...])` appends helper files) (helpers: linear_wg, word_of, decode_elem, encode_half); `kernel("adamw", 4)` also puts
// kernels/lanes_vec4.wgsl (FV = vec4<f32>) before it, `kernel(name, 1)` lanes_f32.wgsl (FV = f32).
// The WGSL text comes from kernels/wgsl.generated.ts (run `node scripts/build-assets.mjs` after
// editing a .wgsl file).
import { BackendError } from "../../errors.js";
import type { Tensor } from "../tensor.js";
import { numel } from "../tensor.js";
import { WGSL } from "./kernels/wgsl.generated.js";
import type { KernelSource } from "./pipelines.js";

const cache = new Map<string, KernelSource>();

function wgsl(name: string): string {
  const text = WGSL[name];
  if (text === undefined) {
    throw new BackendError(`WGSL kernel "${name}" is not embedded: run \`node scripts/build-assets.mjs\``);
  }
  return text;
}

export function kernel(name: string, lanes?: 1 | 4): KernelSource {
  const key = lanes ? `${name}:x${lanes}` : name;
  let k = cache.get(key);
  if (!k) {
    const parts = [
      wgsl("common"),
      ...(lanes ? [wgsl(lanes === 4 ? "lanes_vec4" : "lanes_f32")] : []),
      wgsl(name),
    ];
    k = { key, source: parts.join("\n") };
    cache.set(key, k);
  }
  return k;
}

/**
 * `kernel(name)` with helper files appended (kernels that are not kernels themselves, e.g.
 * "paged_rope"), or further entry points over the same bindings. Cached by the full list.
 */
export function kernelWith(name: string, appendices: readonly string[]): KernelSource {
  const key = [name, ...appendices].join("+");
  let k = cache.get(key);
  if (!k) {
    k = { key, source: [kernel(name).source as string, ...appendices.map(wgsl)].join("\n") };
    cache.set(key, k);
  }
  return k;
}

/** 4 when every f32 view starts at a multiple of 4 elements and `rowLen` is one too, else 1. */
export function lanesFor(rowLen: number, ...views: readonly Tensor[]): 1 | 4 {
  const ok = rowLen % 4 === 0 && views.every((t) => t.offset % 4 === 0 && numel(t.shape) % 4 === 0);
  return ok ? 4 : 1;
}

/** Storage dtype code used by kernels' DT_* override constants. */
export function dtypeCode(dtype: string): number {
  return dtype === "f16" ? 1 : dtype === "bf16" ? 2 : 0;
}
