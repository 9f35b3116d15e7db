// WebGPU matmul building blocks: shape checks, tile configs and their fit to device limits, WGSL
// source generation, the kernel's uniform params, and the single-dispatch plan (planMatmul) for
// kernels/matmul_tiled.wgsl / matmul_subgroup.wgsl.
// out (.., M, N) = alpha * op(a) @ op(b) (+ out); a f32, b f32/f16/bf16 (packed 2 per u32), out f32.
// Multi-dispatch schedules (aligned interior + checked strips, split-K) live in matmul-schedule.ts.
import type { MatmulOptions } from "../../backend.js";
import type { DType, Tensor } from "../../tensor.js";
import { matmulDims } from "../../op-shapes.js";
import { ShapeError } from "../../../errors.js";
import { WGSL } from "../kernels/wgsl.generated.js";

/** Block tile BM x BN, K slice BK, per-thread TM x TN (multiples of 4). */
export interface MatmulTile {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

/** The limits that decide which tile fits. */
export interface KernelLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
}

/** Candidate tiles in order of preference (chooseTile takes the first that fits and fills). */
export const MATMUL_TILES: readonly MatmulTile[] = [
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

/** Workgroup bytes of a tile: two buffers of A and B slices, rows padded by one vec4. */
export function tileWorkgroupBytes(t: MatmulTile): number {
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

/** WGSL declaring storage binding `binding` as `name` and `fn fnName(i) -> f32` reading element i. */
export function storageLoadWgsl(name: string, binding: number, dtype: DType, fnName: string): string {
  if (dtype === "f32") {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f32>;
fn ${fnName}(i: u32) -> f32 { return ${name}[i]; }\n`;
  }
  const decl = `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;\n`;
  if (dtype === "f16") {
    return `${decl}fn ${fnName}(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }\n`;
  }
  if (dtype === "bf16") {
    return `${decl}fn ${fnName}(i: u32) -> f32 {
  let w = ${name}[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}\n`;
  }
  throw new ShapeError(`${name} must be f32, f16 or bf16 storage, got ${dtype}`);
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

export interface MatmulVariant {
  /** "subgroup": the tensor-core kernel (tile fixed at SUBGROUP_TILE). */
  kind?: "tiled" | "subgroup";
  tile: MatmulTile;
  transA: boolean;
  transB: boolean;
  /** Bounds tests; false only when the shape is a multiple of the tile. */
  check: boolean;
  bDtype: DType;
  /** Tensor-core kernel: elements per load of a / b (4 when aligned, see vectorWidth). */
  va?: 1 | 4;
  vb?: 1 | 4;
}

export function matmulKey(v: MatmulVariant): string {
  const t = v.tile;
  if (v.kind === "subgroup") {
    return `matmul_subgroup:${+v.transA}${+v.transB}${+v.check}:${v.va ?? 1}${v.vb ?? 1}:${v.bDtype}`;
  }
  return `matmul_tiled:${t.bm}x${t.bn}x${t.bk}:${t.tm}x${t.tn}:${+v.transA}${+v.transB}${+v.check}:${v.bDtype}`;
}

export function matmulSource(v: MatmulVariant): string {
  const t = v.tile;
  if (v.kind === "subgroup") return subgroupSource(v);
  const head = [
    `const BM: u32 = ${t.bm}u;`,
    `const BN: u32 = ${t.bn}u;`,
    `const BK: u32 = ${t.bk}u;`,
    `const TM: u32 = ${t.tm}u;`,
    `const TN: u32 = ${t.tn}u;`,
    `const TRANS_A: bool = ${v.transA};`,
    `const TRANS_B: bool = ${v.transB};`,
    `const CHECK: bool = ${v.check};`,
  ].join("\n");
  const body = WGSL.matmul_tiled;
  if (!body) throw new ShapeError("matmul kernels are not embedded: run `node scripts/build-assets.mjs`");
  return `${head}\n${storageLoadWgsl("b", 2, v.bDtype, "loadB")}\n${body}`;
}

function subgroupSource(v: MatmulVariant): string {
  const t = v.tile;
  const body = WGSL.matmul_subgroup;
  if (!body) throw new ShapeError("matmul kernels are not embedded: run `node scripts/build-assets.mjs`");
  // The subgroup index t / 32 is subgroup-uniform on NVIDIA (32 lanes, linear invocation order) but
  // not provably so to WGSL's uniformity analysis, and this Dawn has no diagnostic rule for it.
  const enables =
    "enable f16;\nenable chromium_experimental_subgroup_matrix;\nenable chromium_disable_uniformity_analysis;\n";
  const head = [
    `const BM: u32 = ${t.bm}u;`,
    `const BN: u32 = ${t.bn}u;`,
    `const BK: u32 = ${t.bk}u;`,
    `const TRANS_A: bool = ${v.transA};`,
    `const TRANS_B: bool = ${v.transB};`,
    `const CHECK: bool = ${v.check};`,
    `const VA: u32 = ${v.va ?? 1}u;`,
    `const VB: u32 = ${v.vb ?? 1}u;`,
  ].join("\n");
  const loaders = `${storageLoad4Wgsl("a", 1, "f32", "loadA", v.va ?? 1)}${storageLoad4Wgsl("b", 2, v.bDtype, "loadB", v.vb ?? 1)}`;
  return `${enables}${head}\n${loaders}\n${body}`;
}

/**
 * WGSL declaring storage binding `binding` as `name` and `fn fnName(i) -> vec4<f32>`: the `width`
 * (4 or 1) elements from element i on (i a multiple of 4 when width is 4; the rest zero when 1).
 */
export function storageLoad4Wgsl(
  name: string,
  binding: number,
  dtype: DType,
  fnName: string,
  width: 1 | 4,
): string {
  if (width === 1) {
    return `${storageLoadWgsl(name, binding, dtype, `${fnName}1`)}fn ${fnName}(i: u32) -> vec4<f32> { return vec4<f32>(${fnName}1(i), 0.0, 0.0, 0.0); }\n`;
  }
  const decl = (ty: string) => `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${ty}>;\n`;
  if (dtype === "f32")
    return `${decl("vec4<f32>")}fn ${fnName}(i: u32) -> vec4<f32> { return ${name}[i >> 2u]; }\n`;
  if (dtype === "f16") {
    return `${decl("vec2<u32>")}fn ${fnName}(i: u32) -> vec4<f32> {
  let w = ${name}[i >> 2u];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}\n`;
  }
  if (dtype === "bf16") {
    return `${decl("vec2<u32>")}fn ${fnName}(i: u32) -> vec4<f32> {
  let w = ${name}[i >> 2u];
  return bitcast<vec4<f32>>(vec4<u32>(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}\n`;
  }
  throw new ShapeError(`${name} must be f32, f16 or bf16 storage, got ${dtype}`);
}

/**
 * Elements per load the tensor-core kernel may use for an operand: 4 when the operand's
 * contiguous dimension and its element offset are multiples of 4 (every chunk of 4 then lies
 * wholly inside one row and the binding, see bind-ranges.ts), else 1.
 */
export function vectorWidth(contiguous: number, offset: number): 1 | 4 {
  return contiguous % 4 === 0 && offset % 4 === 0 ? 4 : 1;
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

export function planMatmul(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
  limits: KernelLimits,
  tile?: MatmulTile,
  tensorCores = false,
): MatmulPlan {
  const s = matmulShape(out, a, b, opts);
  tile ??= tileOverride;
  const sub = tile === undefined ? tensorCores && tensorCoreShape(s) : tile === SUBGROUP_TILE;
  const t = sub ? SUBGROUP_TILE : (tile ?? chooseTile(limits, s.m, s.n, s.batch));
  const check = s.m % t.bm !== 0 || s.n % t.bn !== 0 || s.k % t.bk !== 0;
  const v: MatmulVariant = {
    kind: sub ? "subgroup" : "tiled",
    tile: t,
    transA: !!opts.transA,
    transB: !!opts.transB,
    check,
    bDtype: b.dtype,
    ...(sub
      ? {
          va: vectorWidth(opts.transA ? s.m : s.k, a.offset),
          vb: vectorWidth(opts.transB ? s.k : s.n, b.offset),
        }
      : {}),
  };
  const wg: [number, number, number] = [Math.ceil(s.n / t.bn), Math.ceil(s.m / t.bm), s.batch];
  const maxWg = limits.maxComputeWorkgroupsPerDimension;
  if (wg.some((x) => x > maxWg)) {
    throw new ShapeError(
      `matmul [${s.batch}; ${s.m}x${s.k} @ ${s.k}x${s.n}] needs workgroups [${wg}] over the device limit ${maxWg}: split the batch`,
    );
  }
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
