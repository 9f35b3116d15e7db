// WebGPU matmul building blocks: shape checks, tile configs and their fit to device limits, the
// kernels' uniform params, and the single-dispatch plan (planMatmul) for kernels/matmul_tiled.wgsl,
// matmul_unrolled.wgsl and matmul_subgroup.wgsl (their WGSL source: matmul-source.ts).
// out (.., M, N) = alpha * op(a) @ op(b) (+ out); a f32, b f32/f16/bf16 (packed 2 per u32), out f32.
// Multi-dispatch schedules (aligned interior + checked strips, split-K) live in matmul-schedule.ts.
import type { MatmulOptions } from "../../backend.js";
import type { Tensor } from "../../tensor.js";
import { matmulDims } from "../../op-shapes.js";
import { ShapeError } from "../../../errors.js";
import { type MatmulVariant, matmulKey, matmulSource, vectorWidth } from "./matmul-source.js";

/** Block tile BM x BN, K slice BK, per-thread TM x TN (multiples of 4). */
export interface MatmulTile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /** Runs matmul_unrolled.wgsl (k loop written out, one buffer) instead of matmul_tiled.wgsl. */
  unrolled?: boolean;
}

/** The limits that decide which tile fits. */
export interface KernelLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
}

/** Candidate tiles in order of preference (chooseTile takes the first that fits and fills). */
export const MATMUL_TILES: readonly MatmulTile[] = [
  { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, unrolled: true },
  { bm: 128, bn: 128, bk: 4, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 128, bn: 64, bk: 16, tm: 8, tn: 4 },
  { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  { bm: 64, bn: 64, bk: 8, tm: 4, tn: 4 },
  { bm: 32, bn: 32, bk: 8, tm: 4, tn: 4 },
];

let tileOverride: MatmulTile | undefined;

/** Forces one tile for every following matmul (tests and benchmarks); undefined restores choice. */
export function setMatmulTileOverride(tile: MatmulTile | undefined): void {
  tileOverride = tile;
}

/** The tile forced by setMatmulTileOverride, if any. */
export function matmulTileOverride(): MatmulTile | undefined {
  return tileOverride;
}

export function tileThreads(t: MatmulTile): number {
  return (t.bm / t.tm) * (t.bn / t.tn);
}

/** Tiles whose bounds-checked variant is known to compile well (4x4 per thread; 8x8 CHECK ran at
 *  1.9 TFLOP/s on the H100 vs 19 for 4x4 CHECK): used for edge strips and unaligned K. */
export function checkSafe(t: MatmulTile): boolean {
  return t.tm * t.tn <= 16;
}

/** Workgroup bytes of a tile: matmul_tiled keeps two buffers of A and B slices, rows padded by one
 *  vec4; matmul_unrolled one buffer, one vec4 of padding per thread row / column. */
export function tileWorkgroupBytes(t: MatmulTile): number {
  if (t.unrolled) {
    const tx = t.bn / t.tn;
    const ty = t.bm / t.tm;
    return (ty * ((t.bk * t.tm) / 4 + 1) + tx * ((t.bk * t.tn) / 4 + 1)) * 16;
  }
  return 2 * t.bk * (t.bm + 4 + t.bn + 4) * 4;
}

export function tileFits(t: MatmulTile, limits: KernelLimits): boolean {
  return (
    tileThreads(t) <= limits.maxComputeInvocationsPerWorkgroup &&
    tileWorkgroupBytes(t) <= limits.maxComputeWorkgroupStorageSize
  );
}

/** Biggest fitting tile that still gives about two workgroups per multiprocessor (~132 on an H100). */
export function chooseTile(limits: KernelLimits, m: number, n: number, batch: number): MatmulTile {
  const fitting = MATMUL_TILES.filter((t) => tileFits(t, limits));
  const last = fitting[fitting.length - 1];
  if (!last) throw new ShapeError("no matmul tile fits this device's workgroup limits");
  for (const t of fitting) {
    const groups = Math.ceil(m / t.bm) * Math.ceil(n / t.bn) * batch;
    if (groups >= 256) return t;
  }
  return last;
}

/** Features the f16 tensor-core path needs (Dawn on NVIDIA with vulkan_enable_f16_on_nvidia). */
export const TENSOR_CORE_FEATURES = ["shader-f16", "chromium-experimental-subgroup-matrix"] as const;

/** The tensor-core kernel's fixed block (kernels/matmul_subgroup.wgsl): 256 invocations (8
 *  subgroups of 64 x 64), 128 x 256 outputs, K slices of 32; ~37 KiB of workgroup memory. */
export const SUBGROUP_TILE: MatmulTile = { bm: 128, bn: 256, bk: 32, tm: 64, tn: 64 };

/**
 * Features the device lacks for the f16 tensor-core matmul (empty when it can run it). The path is
 * opt-in per backend (`createWebGpuBackend({ tensorCores: true })`, `--tensor-cores`): operands
 * rounded to f16 with f32 accumulation, ~3e-4 relative error instead of ~1e-6 at n = 4096. It also
 * needs a Dawn device created with allow_unsafe_apis (the Node runtime does this) for
 * `chromium_disable_uniformity_analysis`.
 */
export function missingTensorCoreFeatures(features: Iterable<string>): string[] {
  const have = new Set(features);
  return TENSOR_CORE_FEATURES.filter((f) => !have.has(f));
}

/** Whether a matmul of this shape goes to the tensor-core kernel when the backend has it on: a
 *  128 x 256 block must be mostly used and the grid at least ~half a wave of an H100. */
export function tensorCoreShape(s: MatmulShape): boolean {
  return s.m >= 128 && s.n >= 256 && s.m * s.n * s.batch >= 128 * 128 * 64;
}

/** Everything needed to dispatch one matmul: bindings are 0 params, 1 a, 2 b, 3 out. */
export interface MatmulPlan {
  key: string;
  source: () => string;
  workgroups: [number, number, number];
  /** GEMM_PARAM_WORDS words, see gemmParams. */
  params: ArrayBuffer;
  flops: number;
}

export const GEMM_PARAM_WORDS = 16;

/** Where one dispatch of matmul_tiled.wgsl writes and which K ranges it sums. */
export interface GemmRegion {
  /** First output row / column of block (0, 0). */
  mOrigin: number;
  nOrigin: number;
  /** Split-K: wid.z = batch entry * splits + s covers K [s * kChunk, (s + 1) * kChunk). */
  splits: number;
  kChunk: number;
  /** Writes a (batch * splits, M, N) partial buffer: alpha 1, no accumulate, entry stride M*N. */
  partial: boolean;
}

/**
 * Uniform words: M N K aOff bOff oOff aBatch bBatch oBatch alpha(f32) accumulate splits kChunk
 * mOrigin nOrigin pad. The a/b/out offsets are rewritten by the runtime (offsetWords 3, 4, 5).
 */
export function gemmParams(s: MatmulShape, opts: MatmulOptions, r: GemmRegion): ArrayBuffer {
  const params = new ArrayBuffer(GEMM_PARAM_WORDS * 4);
  const u = new Uint32Array(params);
  const f = new Float32Array(params);
  u.set([s.m, s.n, s.k, 0, 0, 0, s.m * s.k, s.bShared ? 0 : s.n * s.k, s.m * s.n]);
  f[9] = r.partial ? 1 : (opts.alpha ?? 1);
  u[10] = !r.partial && opts.accumulate ? 1 : 0;
  u.set([r.splits, r.kChunk, r.mOrigin, r.nOrigin], 11);
  return params;
}

export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  batch: number;
  /** b is 2-D and shared by every batch entry. */
  bShared: boolean;
}

/** Validates shapes/dtypes (../../op-shapes.ts matmulDims, shared with the cpu backend) and returns
 *  M, N, K and batch. */
export function matmulShape(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): MatmulShape {
  const { m, n, k, batch, bShared } = matmulDims(out, a, b, opts);
  return { m, n, k, batch, bShared };
}

/** The kernel variant that runs tile `t` (SUBGROUP_TILE: tensor cores; `unrolled` tiles:
 *  matmul_unrolled.wgsl, with vector loads where the operands allow). */
export function matmulVariant(
  t: MatmulTile,
  s: MatmulShape,
  opts: MatmulOptions,
  a: Tensor,
  b: Tensor,
  check: boolean,
): MatmulVariant {
  const sub = t === SUBGROUP_TILE;
  return {
    kind: sub ? "subgroup" : t.unrolled ? "unrolled" : "tiled",
    tile: t,
    transA: !!opts.transA,
    transB: !!opts.transB,
    check,
    bDtype: b.dtype,
    ...(sub || t.unrolled
      ? {
          va: vectorWidth(opts.transA ? s.m : s.k, a.offset),
          vb: vectorWidth(opts.transB ? s.k : s.n, b.offset),
        }
      : {}),
  };
}

/** Throws when a grid exceeds the device's workgroups per dimension. */
export function checkGrid(s: MatmulShape, wg: [number, number, number], limits: KernelLimits): void {
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (wg.some((x) => x > max)) {
    throw new ShapeError(
      `matmul [${s.batch}; ${s.m}x${s.k} @ ${s.k}x${s.n}] needs workgroups [${wg}] over the device limit ${max}: split the batch`,
    );
  }
}

export function planMatmul(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
  limits: KernelLimits,
  tile?: MatmulTile,
): MatmulPlan {
  const s = matmulShape(out, a, b, opts);
  const t = tile ?? tileOverride ?? chooseTile(limits, s.m, s.n, s.batch);
  const check = s.m % t.bm !== 0 || s.n % t.bn !== 0 || s.k % t.bk !== 0;
  const v = matmulVariant(t, s, opts, a, b, check);
  const wg: [number, number, number] = [Math.ceil(s.n / t.bn), Math.ceil(s.m / t.bm), s.batch];
  checkGrid(s, wg, limits);
  const params = gemmParams(s, opts, { mOrigin: 0, nOrigin: 0, splits: 1, kChunk: s.k, partial: false });
  new Uint32Array(params).set([a.offset, b.offset, out.offset], 3);
  return {
    key: matmulKey(v),
    source: () => matmulSource(v),
    workgroups: wg,
    params,
    flops: 2 * s.m * s.n * s.k * s.batch,
  };
}
