// Which pagedAttention partials kernel runs a call on webgpu, and how it splits the keys: the
// tensor-core kernel (paged-mma.ts) where asked for and applicable, else the streaming kernel
// (paged_attention_vec.wgsl) where the pools' offsets and the head shape allow, else the general
// paged_attention.wgsl. ops/paged.ts encodes the chosen plan and the combine pass after it.
import { BackendError } from "../../../errors.js";
import type { AttentionMmaMode } from "../../registry.js";
import type { Tensor } from "../../tensor.js";
import { dtypeCode, kernelWith } from "../kernel-source.js";
import type { KernelSource } from "../pipelines.js";
import type { Runtime } from "../runtime.js";
import { MMA_KEY_BLOCK, mmaFaster, mmaPlan, mmaSource } from "./paged-mma.js";

/**
 * Split heuristics (tests and benchmarks may change them): aim for `targetWorkgroups` workgroups
 * in the partials pass, but never fewer than `minKeysPerSplit` keys per split.
 */
export const pagedTuning = {
  targetWorkgroups: 512,
  minKeysPerSplit: 64,
  /**
   * The streaming kernel's split targets (its tile is 128 keys). 512 workgroups: one wave on an
   * H100 (~5 resident per SM); 1024 measured 8-9% slower at batch 128, context 4096 (a second,
   * half-full wave), equal at batch 16.
   */
  vecTargetWorkgroups: 512,
  vecMinKeysPerSplit: 128,
  /**
   * V rows the streaming kernel loads before using them (memory-level parallelism), at most a key
   * group's (HD / 4). 16 (all of an MQA 8 x 64 group's keys, in flight during the softmax) against
   * 8, whole-step GPU time on an H100: -0.9% at 128 x 4096, -1.8% at 256 x 4096, -1.5..-2.5% at 1
   * and 16 rows, +0.3..+0.6% at 128 / 256 x 512 (stop 15).
   */
  vecVBatch: 16,
  /** The streaming kernel's final merge pairwise ("auto": one-tile splits over few workgroups; treeMerge). */
  vecTreeMerge: "auto" as "auto" | boolean,
  /**
   * "auto": the tensor-core kernel where `mma` asks for it and it applies (paged-mma.ts: f16
   * pools on a device with subgroup matrices), else the streaming kernel where it applies;
   * "general": always paged_attention.wgsl.
   */
  kernel: "auto" as "auto" | "general",
  /** The tensor-core kernel's split target (its tile is 128 keys, 8 subgroups per workgroup). */
  mmaTargetWorkgroups: 1024,
  /**
   * The tensor-core kernel: "faster" (default: where it was measured faster, mmaFaster; the whole
   * GPU test suite passed with it so on an H100), "off", "always" (tests).
   */
  mma: "faster" as AttentionMmaMode,
};

/** Keys per tile so that the K and V tiles, scores and per-head state fit workgroup memory. */
function keysPerTile(rt: Runtime, hd: number, gq: number): number {
  const bytes = rt.limits.maxComputeWorkgroupStorageSize ?? 16384;
  const tk = Math.min(32, Math.floor((bytes - 64 - 12 * gq) / (4 * (2 * hd + gq))));
  if (tk < 1 || gq * hd > 64 * WG) {
    throw new BackendError(
      `pagedAttention on webgpu supports (H/Hkv) x D up to ${64 * WG} within ${bytes} bytes of workgroup memory; got ${gq} x ${hd}`,
    );
  }
  return tk;
}

/** Partials dispatches per kernel since start (tests check which path ran). */
export const pagedKernelCounts = { mma: 0, vec: 0, general: 0 };

/** Streaming-kernel constants when it applies to these pools and head shape, else null. */
function vecPlan(rt: Runtime, kPool: Tensor, vPool: Tensor, hd: number, gq: number) {
  if (pagedTuning.kernel !== "auto" || kPool.dtype !== vPool.dtype) return null;
  const kw = kPool.dtype === "f32" ? 4 : 8; // elements per vec4<u32>
  const lanes = hd / 4;
  if (hd % kw !== 0 || 128 % lanes !== 0 || gq > 32) return null;
  if (kPool.offset % kw !== 0 || vPool.offset % kw !== 0) return null;
  const kg = 128 / lanes;
  const ls = gq < lanes && lanes % gq === 0 ? lanes : gq; // (B1)'s softmax states per key group
  // paged_attention_vec.wgsl's arrays: qv, sc, pt, rows, m/l/a, info
  const bytes = 4 * (gq * hd + gq * 132 + 128 * 4 * Math.ceil(gq / 4) + 128 + kg * (2 * ls + gq)) + 16;
  if (bytes > (rt.limits.maxComputeWorkgroupStorageSize ?? 16384)) return null;
  const vb = Math.max(1, Math.min(pagedTuning.vecVBatch, lanes));
  return { DT_KV: dtypeCode(kPool.dtype), HD: hd, GQ: gq, KW: kw, VB: vb };
}

/** Key splits: about `target` workgroups, at least `minKeys` keys per split. */
export function splitCount(rows: number, maxKeys: number, target: number, minKeys: number): number {
  const want = Math.min(Math.ceil(target / rows), Math.ceil(maxKeys / Math.max(1, minKeys)));
  return Math.max(1, Math.min(MAX_SPLITS, want));
}

/**
 * Whether the streaming kernel merges its key groups pairwise (TREE = 1): where every split is one
 * tile of 128 keys and there are few workgroups (at most 256: under two per SM of an H100), so the
 * final merge's latency is exposed (batch 1: 14.7 vs 17.6 us per layer, the step's GPU time -4..5%;
 * batch 16, context 512: -3%). With a full wave of workgroups (batch 128) the tree's code cost 1-2%
 * of the step, and over many tiles it slows the tile loop (105 vs 95 us per layer).
 */
export function treeMerge(maxKeys: number, nSplit: number, workgroups: number): boolean {
  if (pagedTuning.vecTreeMerge !== "auto") return pagedTuning.vecTreeMerge;
  return Math.ceil(maxKeys / nSplit) <= 128 && workgroups <= 256;
}

/** Most key splits the combine kernel merges (paged_combine.wgsl MAXS). */
const MAX_SPLITS = 1024;

const WG = 128; // the general and streaming kernels' workgroup size

/** One call's partials kernel: its source, constants and split rules. */
export interface PartialsPlan {
  kind: keyof typeof pagedKernelCounts;
  source: KernelSource;
  /** The kernel can rope q on load: binding 8 is the rope table, constant ROPE is set. */
  fused: boolean;
  /** Splits aim at this many workgroups ... */
  targetWorkgroups: number;
  /** ... with at least this many keys each, in multiples of `granularity` (paged_rows.wgsl). */
  minKeys: number;
  granularity: number;
  /** The override constants for `nSplit` splits over `workgroups` workgroups. */
  constants(nSplit: number, workgroups: number, rope: 0 | 1): Record<string, number>;
}

/** The plan for pools `kPool` / `vPool` and `rows` query rows x K/V heads over tables of `maxKeys`. */
export function partialsPlan(
  rt: Runtime,
  kPool: Tensor,
  vPool: Tensor,
  s: { hd: number; gq: number; blockSize: number; rows: number; maxKeys: number; mma?: AttentionMmaMode },
): PartialsPlan {
  const { hd, gq, maxKeys } = s;
  // the streaming kernel's 128-key tile, unless a test asks for finer splits
  const fine = Math.max(1, Math.min(128, pagedTuning.vecMinKeysPerSplit));
  const mode = s.mma ?? pagedTuning.mma; // the backend's choice, else the process default
  const wantMma =
    pagedTuning.kernel === "auto" && (mode === "always" || (mode === "faster" && mmaFaster(s.rows, maxKeys)));
  const mma = wantMma ? mmaPlan(rt, kPool, vPool, { hd, gq, blockSize: s.blockSize }) : null;
  if (mma) {
    return {
      kind: "mma",
      source: mmaSource(),
      fused: true,
      targetWorkgroups: pagedTuning.mmaTargetWorkgroups,
      minKeys: pagedTuning.vecMinKeysPerSplit,
      granularity: Math.ceil(fine / MMA_KEY_BLOCK) * MMA_KEY_BLOCK, // whole key blocks
      constants: (_n, _w, rope) => ({ ...mma, ROPE: rope }),
    };
  }
  const vec = vecPlan(rt, kPool, vPool, hd, gq);
  if (vec) {
    return {
      kind: "vec",
      source: kernelWith("paged_attention_vec", ["paged_rope", "paged_rows", "paged_query"]),
      fused: true,
      targetWorkgroups: pagedTuning.vecTargetWorkgroups,
      minKeys: pagedTuning.vecMinKeysPerSplit,
      granularity: fine,
      constants: (nSplit, workgroups, rope) => ({
        ...vec,
        ROPE: rope,
        TREE: treeMerge(maxKeys, nSplit, workgroups) ? 1 : 0,
      }),
    };
  }
  return {
    kind: "general",
    source: kernelWith("paged_attention", ["paged_rows"]),
    fused: false,
    targetWorkgroups: pagedTuning.targetWorkgroups,
    minKeys: pagedTuning.minKeysPerSplit,
    granularity: Math.max(1, pagedTuning.minKeysPerSplit),
    constants: () => ({ DT_KV: dtypeCode(kPool.dtype), HD: hd, GQ: gq, TK: keysPerTile(rt, hd, gq) }),
  };
}
