// The tensor-core pagedAttention partials kernel (kernels/paged_attention_mma.wgsl): whether it
// applies to a call on this device, and its source. ops/paged.ts dispatches it in place of the
// streaming kernel (same params, bindings and partials; the same combine pass after it).
import type { Tensor } from "../../tensor.js";
import { kernelWith } from "../kernel-source.js";
import type { KernelSource } from "../pipelines.js";
import type { Runtime } from "../runtime.js";

/** One matrix shape the adapter runs (GPUAdapterInfo.subgroupMatrixConfigs, Dawn). */
interface MatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The kernel's matrix shapes (M x N x K, f16 x f16 -> f32): scores 16 x 8 x 16, outputs 16 x 16 x 16. */
const SHAPES: readonly [number, number, number][] = [
  [16, 8, 16],
  [16, 16, 16],
];

/** What the kernel needs of the adapter: 32-lane subgroups and the SHAPES. */
export function deviceRunsAttentionMma(rt: Runtime): boolean {
  for (const f of ["shader-f16", "subgroups", "chromium-experimental-subgroup-matrix"]) {
    if (!rt.hasFeature(f)) return false;
  }
  const info = rt.ctx.adapter.info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: readonly MatrixConfig[];
  };
  if (info.subgroupMinSize !== 32 || info.subgroupMaxSize !== 32) return false;
  const configs = info.subgroupMatrixConfigs ?? [];
  return SHAPES.every(([m, n, k]) =>
    configs.some(
      (c) =>
        c.componentType === "f16" && c.resultComponentType === "f32" && c.M === m && c.N === n && c.K === k,
    ),
  );
}

/** The kernel's key-block height: a page must hold whole blocks, splits start on them. */
export const MMA_KEY_BLOCK = 16;

/** Head dims the kernel's split of (C) over its 8 subgroups serves. */
const HEAD_DIMS = [16, 32, 64, 128];

/**
 * The kernel's constants when it applies: f16 pools at offsets of whole 16-element rows, pages of a
 * multiple of 16 slots, at most 8 query heads per K/V head, a head dim of 16, 32, 64 or 128, and
 * the device above.
 */
export function mmaPlan(
  rt: Runtime,
  kPool: Tensor,
  vPool: Tensor,
  dims: { hd: number; gq: number; blockSize: number },
): { HD: number; GQ: number } | null {
  const { hd, gq, blockSize } = dims;
  if (kPool.dtype !== "f16" || vPool.dtype !== "f16") return null;
  if (!HEAD_DIMS.includes(hd) || gq > 8 || blockSize % MMA_KEY_BLOCK !== 0) return null;
  if (kPool.offset % 16 !== 0 || vPool.offset % 16 !== 0) return null;
  if (!deviceRunsAttentionMma(rt)) return null;
  return { HD: hd, GQ: gq };
}

/**
 * Where the kernel was measured faster than the streaming one (H100, decode steps of MQA 8 x 64):
 * at most 64 rows (query rows x K/V heads) and at most 131,072 keys over all rows' tables (1 x
 * 4096 .. 16 x 4096, 32 and 64 x 512); slower at 32-64 x 4096 and 128 rows. Against the streaming
 * kernel with its softmax split over all lanes (stop 15), whole-step GPU time: 1 row 0.376 vs
 * 0.392 ms (context 512), 0.395 vs 0.412 (4096); 16 rows 0.606 vs 0.622, 0.763 vs 0.764 (a tie);
 * 32 rows 0.675 vs 0.713 at 512, 0.969 vs 0.917 at 4096; 64 rows 0.821 vs 0.832, 1.241 vs 1.122.
 */
export function mmaFaster(rows: number, tableKeys: number): boolean {
  return rows <= 64 && rows * tableKeys <= 131072;
}

const ENABLES = [
  "enable f16;",
  "enable subgroups;",
  "enable chromium_experimental_subgroup_matrix;",
  "enable chromium_disable_uniformity_analysis;",
].join("\n");

let source: KernelSource | null = null;

/** The kernel with its helpers (paged_rope, paged_rows, paged_query) and the `enable` lines it needs. */
export function mmaSource(): KernelSource {
  if (!source) {
    const k = kernelWith("paged_attention_mma", ["paged_rope", "paged_rows", "paged_query"]);
    source = { key: `${k.key}:mma`, source: `${ENABLES}\n${k.source as string}` };
  }
  return source;
}
