// The paged engine's decode-path linear layer (the backend's DecodeKernels.linear): a GEMV for a
// few rows (kernels/paged_gemv.wgsl), a tiled kernel for a batched step (paged_mm.wgsl), rmsnorm /
// SwiGLU / the residual add fused in. `decodeTuning` is shared with the fused q/k/v + K/V append
// (paged.ts).
import type { Tensor } from "../../tensor.js";
import { numel } from "../../tensor.js";
import { kernel, kernelWith } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";

/** Switches of the decode-path kernels, for benchmarks (A/B in one process). */
export const decodeTuning = {
  /** The K/V append inside the q/k/v projection (encodeQkvAppend); false: a separate dispatch. */
  fuseKvAppend: true,
  /**
   * Fewest rows for which the tiled q/k/v projection takes the K/V append in (paged_mm_append.wgsl,
   * 64-column blocks); fewer rows above gemvMaxRows: the plain tile (32-column blocks) and the
   * append kernel. Measured on an H100 (q/k/v 640 x 512 + append, chained): fused 19.0 vs 24.0 us
   * at 128 rows and 24.0 vs 32.1 at 256, but 18.6-18.9 vs 15.6 at 48-96 rows.
   */
  tileAppendMinRows: 128,
  /**
   * Output columns per decode-linear workgroup (256 / cols lanes share a column's K): "auto" = 4 up
   * to 16 rows (short K loops, many workgroups), 16 above (fewer re-reads of x; measured faster at
   * 32 rows on an H100, slower at 1-16).
   */
  gemvCols: "auto" as "auto" | 4 | 16,
  /**
   * Largest M of the tiled decode linear (paged_mm.wgsl) that takes over above gemvMaxRows;
   * larger M: the caller's plain ops (rmsnorm/swiglu, then matmul). 32: the tiled kernel off.
   */
  tileMaxRows: 256,
  /**
   * Wide linears (at least `wideCols` output columns: the LM head) take the tile only up to this
   * many rows; above, rmsnorm + the matmul schedule (its 64 x 128 blocks of 8 x 8 per thread).
   * Measured on an H100 (LM head 8192 x 512, GPU time per call incl. one timed pass each): at 128
   * rows tile 79.1 us against matmul 55.9 + rmsnorm 10.1; at 64 rows tile 44.3 against 37.5 +
   * 11.6 (split-K reduce) + 10.6. Whole steps: -2.3..-3.8% GPU time at 256 rows, -0.3% at 128.
   */
  tileMaxRowsWide: 96,
  wideCols: 4096,
  /**
   * Largest M of the GEMV (it re-reads w once per 4 rows of x; above: the tiled kernel). 16:
   * measured on an H100, the GEMV is 4-15% faster per step at 8 and 16 rows, the tiled kernel
   * 16-21% at 32. The fused q/k/v + K/V append (encodeQkvAppend) runs on the GEMV up to here and
   * on the tile from tileAppendMinRows; in between the append is its own dispatch.
   */
  gemvMaxRows: 16,
  /**
   * Output columns per tiled decode-linear workgroup (paged_mm.wgsl BN): "auto" = 64 from 2048
   * columns (the MLP's gate/up and the LM head: 20-25% faster at 128 rows on an H100); below,
   * 16 up to `narrowMaxRows` rows where the device has the workgroup memory (twice the blocks of
   * 32), else 32.
   */
  tileCols: "auto" as "auto" | 16 | 32 | 64,
  /**
   * Most rows for 16-column blocks (tileCols "auto"). Whole decode steps on an H100 (MQA), 16 vs
   * 32 columns: 32 rows 0.609 vs 0.677 ms (context 512), 0.825 vs 0.882 (4096); 64 rows 0.799 vs
   * 0.821, 1.067 vs 1.078; but 128 rows 1.175 vs 1.053, 1.634 vs 1.509 (stop 15).
   */
  narrowMaxRows: 64,
};

/** The tiled decode linear's rows per block (paged_mm.wgsl BM). */
export const TILE_ROWS = 16;
/** Rows of x per decode-linear workgroup (paged_gemv.wgsl MR). */
export const GEMV_ROW_BLOCK = 4;

/** What the decode linear kernel applies to x before the product (see paged_gemv.wgsl). */
export interface DecodeLinearOptions {
  /** out += instead of out =. */
  accumulate?: boolean;
  /** x' = rmsnorm(x) * weight (weight (K) f32). */
  norm?: { weight: Tensor; eps: number };
  /** x = [gate | up] (M, 2K), x' = silu(gate) * up. */
  swiglu?: boolean;
  /**
   * The fused q/k/v projection (with `norm`, whose weight then holds q's K values at 0 and k's
   * and v's at `gKv`, default K): w = [wq; wk; wv] (nq + 2 nkv, K), out = blocks
   * [q (M, nq) | k (M, nkv) | v (M, nkv)].
   */
  qkv?: { nq: number; nkv: number; gKv?: number };
}

/** paged_mm.wgsl's workgroup memory at BN columns: xs, ws, sq, rs (KS k-groups of GT threads). */
export function tileWorkgroupBytes(bn: number): number {
  const bk = 16;
  const gt = (TILE_ROWS / 4) * (bn / 4);
  const ks = 256 / gt;
  const xl = (TILE_ROWS * (bk / 4)) / gt;
  return 4 * (ks * bk * TILE_ROWS + ks * bk * bn + ks * gt * xl + TILE_ROWS);
}

/** tileCols "auto": 64 from 2048 columns; 16 up to narrowMaxRows rows where it fits; else 32. */
function autoTileCols(rt: Runtime, m: number, n: number): 16 | 32 | 64 {
  if (n >= 2048) return 64;
  const limit = rt.limits.maxComputeWorkgroupStorageSize ?? 16384;
  return m <= decodeTuning.narrowMaxRows && tileWorkgroupBytes(16) <= limit ? 16 : 32;
}

/**
 * out (M, N) = x' (M, K) @ w (N, K)^T (+ out when `accumulate`), all f32, through
 * kernels/paged_gemv.wgsl up to decodeTuning.gemvMaxRows rows, the tiled paged_mm.wgsl up to
 * decodeTuning.tileMaxRows (tileMaxRowsWide for wideCols outputs or more; x' = x, rmsnorm(x) * g
 * or silu(gate) * up). Returns false (nothing recorded) when the shapes, dtypes or offsets do not
 * suit it (M above those, K % 4, unaligned views): the caller then runs the plain ops.
 */
export function encodeDecodeLinear(
  rt: Runtime,
  io: { out: Tensor; x: Tensor; w: Tensor },
  opts: DecodeLinearOptions = {},
): boolean {
  const { out, x, w } = io;
  const g = opts.norm?.weight;
  const views = g ? [out, x, w, g] : [out, x, w];
  if (views.some((t) => t.dtype !== "f32") || x.shape.length !== 2 || w.shape.length !== 2) return false;
  const [n, k] = w.shape as [number, number];
  const m = x.shape[0]!;
  if (x.shape[1] !== (opts.swiglu ? 2 * k : k) || numel(out.shape) !== m * n) return false;
  const qkv = opts.qkv;
  const gKv = qkv?.gKv ?? k;
  if (g && (numel(g.shape) !== (qkv ? gKv + k : k) || opts.swiglu || gKv % 4 !== 0)) return false;
  if (qkv && (!g || opts.accumulate || qkv.nq < 1 || qkv.nkv < 1 || qkv.nq + 2 * qkv.nkv !== n)) return false;
  const tiled = m > decodeTuning.gemvMaxRows;
  const tileMax = n >= decodeTuning.wideCols ? decodeTuning.tileMaxRowsWide : decodeTuning.tileMaxRows;
  if (m > (tiled ? tileMax : decodeTuning.gemvMaxRows)) return false;
  if (k % 4 !== 0 || [x, w, ...(g ? [g] : [])].some((t) => t.offset % 4 !== 0)) return false;
  const cols = decodeTuning.gemvCols === "auto" ? (m <= 16 ? 4 : 16) : decodeTuning.gemvCols;
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (!tiled && Math.ceil(n / cols) > maxWg) return false;
  rt.beginOp();
  for (const t of views) rt.check(t, "decode linear");
  if (m * n === 0) return true;
  const switches = {
    ACCUM: opts.accumulate ? 1 : 0,
    NORM: g ? 1 : 0,
    SWIGLU: opts.swiglu ? 1 : 0,
    QKV: qkv ? 1 : 0,
  };
  const params = packParams([
    ...[0, 0, 0, 0, m, n, k / 4, f32(opts.norm?.eps ?? 0), qkv?.nq ?? 0, qkv?.nkv ?? 0],
    ...[0, 0, 0, 0, 0, 0, 0, gKv],
  ]);
  if (tiled) {
    const bn = decodeTuning.tileCols === "auto" ? autoTileCols(rt, m, n) : decodeTuning.tileCols;
    rt.dispatch({
      ...kernelWith("paged_gemv", ["paged_mm"]),
      entry: "tile",
      constants: { ...switches, BN: bn },
      bindings: [out, x, w, g ?? w],
      params,
      offsetWords: [0, 1, 2, 3],
      workgroups: [Math.ceil(n / bn), Math.ceil(m / TILE_ROWS), 1],
    });
    return true;
  }
  rt.dispatch({
    ...kernel("paged_gemv"),
    constants: { ...switches, COLS: cols },
    bindings: [out, x, w, g ?? w],
    params,
    offsetWords: [0, 1, 2, 3],
    workgroups: [Math.ceil(n / cols), Math.ceil(m / GEMV_ROW_BLOCK), 1],
  });
  return true;
}
