// WebGPU matmul schedule: the dispatches that compute one matmul. The tile-aligned interior runs the
// unchecked kernel (no bounds tests); the right strip [0, M) x [Ni, N) and the bottom strip
// [Mi, M) x [0, Ni) run the checked kernel with a 4x4-per-thread tile; a long K with few output
// blocks, or any K >= 256 of an output too small to fill the GPU, is split (split-K) into partial
// outputs that matmul_reduce.wgsl sums in a fixed order.
// scheduleMatmul is pure (tests inspect it); encodeMatmul records the dispatches on the runtime.
import type { MatmulOptions } from "../../backend.js";
import type { Tensor } from "../../tensor.js";
import { numel } from "../../tensor.js";
import { ShapeError } from "../../../errors.js";
import { kernel } from "../kernel-source.js";
import type { Runtime } from "../runtime.js";
import {
  checkSafe,
  checkGrid,
  chooseTile,
  gemmParams,
  type KernelLimits,
  MATMUL_TILES,
  type MatmulShape,
  type MatmulTile,
  matmulShape,
  matmulTileOverride,
  matmulVariant,
  planMatmul,
  SUBGROUP_TILE,
  tensorCoreShape,
  tileFits,
} from "./matmul.js";
import { matmulKey, matmulSource } from "./matmul-source.js";

/** How unaligned shapes and long K are handled (tests and benchmarks may force a strategy). */
export interface MatmulStrategy {
  /** Split-K factor: "auto" by shape, or a fixed count (1 = off; capped by K). */
  splitK: "auto" | number;
  /** "regions": unchecked interior + checked strips; "whole": one dispatch, checked if unaligned. */
  edges: "regions" | "whole";
}

const DEFAULT_STRATEGY: MatmulStrategy = { splitK: "auto", edges: "regions" };
let strategy: MatmulStrategy = DEFAULT_STRATEGY;

/** Overrides parts of the strategy for every following matmul; undefined restores the default. */
export function setMatmulStrategy(s: Partial<MatmulStrategy> | undefined): void {
  strategy = { ...DEFAULT_STRATEGY, ...s };
}

/** Split only K >= this, into chunks >= SPLIT_MIN_CHUNK, aiming at TARGET_GROUPS workgroups. */
const SPLIT_MIN_K = 4096;
const SPLIT_MIN_CHUNK = 512;
/** Outputs of fewer than MIN_GROUPS blocks split from this K, into chunks >= SMALL_SPLIT_MIN_CHUNK. */
const SMALL_SPLIT_MIN_K = 256;
const SMALL_SPLIT_MIN_CHUNK = 128;
const TARGET_GROUPS = 512;
/** A tile is taken once it gives this many workgroups (about two per SM on a 132-SM H100). */
const MIN_GROUPS = 256;
const MAX_PARTIAL_BYTES = 128 * 2 ** 20;

export interface GemmDispatch {
  region: "whole" | "interior" | "right" | "bottom";
  tile: MatmulTile;
  /** Output row / column of block (0, 0). */
  origin: [number, number];
  key: string;
  source: () => string;
  workgroups: [number, number, number];
  params: ArrayBuffer;
  /** Writes the split-K partial buffer instead of out. */
  partial: boolean;
}

export interface MatmulSchedule {
  shape: MatmulShape;
  tile: MatmulTile;
  splits: number;
  kChunk: number;
  gemms: GemmDispatch[];
  /** Elements of the partial buffer (batch * splits * M * N); 0 without split-K. */
  partialNumel: number;
  /** The reduce dispatch's params (matmul_reduce.wgsl), present with split-K. */
  reduce?: { params: ArrayBuffer; workgroups: number };
  flops: number;
}

interface Split {
  splits: number;
  kChunk: number;
}

/** K cut into chunks that are multiples of bk (so an aligned K stays aligned in every chunk). */
export function splitK(k: number, want: number, bk: number): Split {
  const s = Math.max(1, Math.min(want, Math.floor(k / bk)));
  if (s === 1) return { splits: 1, kChunk: k };
  const kChunk = Math.ceil(Math.ceil(k / s) / bk) * bk;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

function chooseSplit(groups: number, s: MatmulShape, bk: number, maxBytes: number): Split {
  let want = typeof strategy.splitK === "number" ? strategy.splitK : 1;
  if (strategy.splitK === "auto" && s.k >= SPLIT_MIN_K && groups < TARGET_GROUPS) {
    want = Math.min(Math.ceil(TARGET_GROUPS / groups), Math.floor(s.k / SPLIT_MIN_CHUNK));
  } else if (strategy.splitK === "auto" && s.k >= SMALL_SPLIT_MIN_K && groups < MIN_GROUPS) {
    // a small output (e.g. decode at batch 128: M = 128): too few blocks to fill the GPU, each
    // walking all of K one slice at a time; shorter K chunks in more blocks cut that walk
    want = Math.min(Math.ceil(TARGET_GROUPS / groups), Math.floor(s.k / SMALL_SPLIT_MIN_CHUNK));
  }
  const outElems = s.m * s.n * s.batch;
  while (want > 1 && want * outElems * 4 > maxBytes) want--;
  return splitK(s.k, want, bk);
}

/** Interior tile and split: the first fitting tile no bigger than the output that (with split-K)
 *  gives MIN_GROUPS workgroups, else the smallest. `only` restricts the candidates. */
export function chooseTileAndSplit(
  limits: KernelLimits & { maxStorageBufferBindingSize?: number },
  s: MatmulShape,
  only: (t: MatmulTile) => boolean = () => true,
): { tile: MatmulTile; split: Split } {
  const forced = matmulTileOverride();
  const fitting = forced ? [forced] : MATMUL_TILES.filter((t) => tileFits(t, limits) && only(t));
  const small = fitting.filter((t) => t.bm <= s.m && t.bn <= s.n);
  const cands = small.length ? small : fitting.slice(-1);
  const maxBytes = Math.min(MAX_PARTIAL_BYTES, limits.maxStorageBufferBindingSize ?? MAX_PARTIAL_BYTES);
  // The first choice unsplit when it already fills half the GPU and K is short: at 1024^3 its 128
  // blocks ran 26 TFLOP/s against 20 split four ways (partials + a reduce) on an H100.
  const first = cands[0];
  if (first && !forced && strategy.splitK === "auto" && s.k < SPLIT_MIN_K) {
    const groups = Math.ceil(s.m / first.bm) * Math.ceil(s.n / first.bn) * s.batch;
    if (groups >= MIN_GROUPS / 2) return { tile: first, split: splitK(s.k, 1, first.bk) };
  }
  let pick: { tile: MatmulTile; split: Split } | undefined;
  for (const tile of cands) {
    const groups = Math.ceil(s.m / tile.bm) * Math.ceil(s.n / tile.bn) * s.batch;
    const split = chooseSplit(groups, s, tile.bk, maxBytes);
    pick = { tile, split };
    if (groups * split.splits >= MIN_GROUPS) break;
  }
  if (!pick) throw new ShapeError("no matmul tile fits this device's workgroup limits");
  return pick;
}

/** Checked tile for a strip whose narrow side is `narrow`, dividing the interior tile (the tile
 *  override applies to the interior and whole dispatches only). */
function edgeTile(limits: KernelLimits, interior: MatmulTile, narrow: number): MatmulTile {
  const c = MATMUL_TILES.filter(
    (t) => checkSafe(t) && tileFits(t, limits) && t.bn <= interior.bn && t.bm <= interior.bm,
  );
  const narrowFit = narrow <= 32 ? c.find((t) => t.bm <= 32 && t.bn <= 32) : undefined;
  return narrowFit ?? c[0] ?? interior;
}

function overlaps(x: Tensor, y: Tensor): boolean {
  return (
    x.buffer === y.buffer && x.offset < y.offset + numel(y.shape) && y.offset < x.offset + numel(x.shape)
  );
}

export function scheduleMatmul(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
  limits: KernelLimits & { maxStorageBufferBindingSize?: number },
  tensorCores = false,
): MatmulSchedule {
  const s = matmulShape(out, a, b, opts);
  const flops = 2 * s.m * s.n * s.k * s.batch;
  const forced = matmulTileOverride();
  const sub = forced ? forced === SUBGROUP_TILE : tensorCores && !opts.exact && tensorCoreShape(s);
  if (sub || (strategy.edges === "whole" && strategy.splitK === 1)) {
    // One dispatch exactly as before schedules existed (tensor cores; benchmarks' baseline).
    const tile = sub ? SUBGROUP_TILE : (forced ?? chooseTile(limits, s.m, s.n, s.batch));
    const p = planMatmul(out, a, b, opts, limits, tile);
    const gemm: GemmDispatch = { region: "whole", tile, origin: [0, 0], ...p, partial: false };
    return { shape: s, tile, splits: 1, kChunk: s.k, gemms: [gemm], partialNumel: 0, flops };
  }
  // A tile either divides K (bounds-free interior) or is safe to run fully checked.
  const { tile, split } = chooseTileAndSplit(limits, s, (t) => s.k % t.bk === 0 || checkSafe(t));
  const { splits, kChunk } = split;
  const partial = splits > 1;
  // Several dispatches writing out while reading an overlapping a/b would see their own writes.
  const aliased = !partial && (overlaps(out, a) || overlaps(out, b));
  const regions = aliased || s.k % tile.bk !== 0 ? "whole" : strategy.edges;
  const gemms: GemmDispatch[] = [];
  const z = s.batch * splits;
  const add = (
    region: GemmDispatch["region"],
    t: MatmulTile,
    o: [number, number],
    grid: [number, number],
  ) => {
    if (grid[0] === 0 || grid[1] === 0) return;
    const v = matmulVariant(t, s, opts, a, b, region !== "interior");
    const wg: [number, number, number] = [grid[0], grid[1], z];
    checkGrid(s, wg, limits);
    const params = gemmParams(s, opts, { mOrigin: o[0], nOrigin: o[1], splits, kChunk, partial });
    const source = () => matmulSource(v);
    gemms.push({ region, tile: t, origin: o, key: matmulKey(v), source, workgroups: wg, params, partial });
  };
  const mi = Math.floor(s.m / tile.bm) * tile.bm;
  const ni = Math.floor(s.n / tile.bn) * tile.bn;
  const aligned = mi === s.m && ni === s.n && s.k % tile.bk === 0;
  if (regions === "whole" || aligned) {
    add(aligned ? "interior" : "whole", tile, [0, 0], [Math.ceil(s.n / tile.bn), Math.ceil(s.m / tile.bm)]);
  } else {
    add("interior", tile, [0, 0], [ni / tile.bn, mi / tile.bm]);
    const er = edgeTile(limits, tile, s.n - ni);
    add("right", er, [0, ni], [Math.ceil((s.n - ni) / er.bn), Math.ceil(s.m / er.bm)]);
    const eb = edgeTile(limits, tile, s.m - mi);
    add("bottom", eb, [mi, 0], [ni / eb.bn, Math.ceil((s.m - mi) / eb.bm)]);
  }
  const sched: MatmulSchedule = { shape: s, tile, splits, kChunk, gemms, partialNumel: 0, flops };
  if (partial) {
    const n = s.m * s.n;
    const params = new ArrayBuffer(32);
    new Uint32Array(params).set([n, splits, n * s.batch, 0, 0, 0, opts.accumulate ? 1 : 0, 0]);
    new Float32Array(params)[5] = opts.alpha ?? 1;
    sched.partialNumel = n * z;
    sched.reduce = { params, workgroups: Math.ceil((n * s.batch) / 256) };
  }
  return sched;
}

/** Records one matmul on the runtime (bindings: a, b, out or the partial buffer); `tensorCores`:
 *  the backend's opt-in f16 tensor-core path (matmul.ts missingTensorCoreFeatures). */
export function encodeMatmul(
  rt: Runtime,
  out: Tensor,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
  tensorCores = false,
): void {
  const limits = rt.limits as unknown as KernelLimits & { maxStorageBufferBindingSize?: number };
  const sched = scheduleMatmul(out, a, b, opts, limits, tensorCores);
  const part = sched.partialNumel ? rt.scratch(sched.partialNumel, "f32", "matmul partials") : undefined;
  for (const g of sched.gemms) {
    rt.dispatch({
      key: g.key,
      source: g.source,
      bindings: [a, b, g.partial && part ? part : out],
      params: g.params,
      offsetWords: [3, 4, 5],
      workgroups: g.workgroups,
    });
  }
  if (sched.reduce && part) {
    rt.dispatch({
      ...kernel("matmul_reduce"),
      bindings: [part, out],
      params: sched.reduce.params,
      offsetWords: [3, 4],
      workgroups: sched.reduce.workgroups,
    });
  }
}
