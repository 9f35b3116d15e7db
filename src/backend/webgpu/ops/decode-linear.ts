// The paged engine's decode-path linear layer (the backend's DecodeKernels.linear): a GEMV for a
// few rows (kernels/paged_gemv.wgsl), a tiled kernel for a batched step (paged_mm.wgsl), rmsnorm /
// SwiGLU / the residual add fused in. `decodeTuning` is shared with the fused q/k/v + K/V append
// (paged.ts).
import type { PagedAttentionMeta } from "../../backend.js";
import type { Tensor } from "../../tensor.js";
import { numel } from "../../tensor.js";
import { kernel, kernelWith } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";
import { decodeTuning, GEMV_ROW_BLOCK } from "./decode-tuning.js";
import { encodePagedPartials } from "./paged.js";

/** The tiled decode linear's rows per block (paged_mm.wgsl BM). */
const TILE_ROWS = 16;

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

/**
 * out (M, N) = x' (M, K) @ w (N, K)^T (+ out when `accumulate`), all f32, through
 * kernels/paged_gemv.wgsl up to decodeTuning.gemvMaxRows rows, the tiled paged_mm.wgsl up to
 * decodeTuning.tileMaxRows (x' = x, rmsnorm(x) * g or silu(gate) * up). Returns false (nothing
 * recorded) when the shapes, dtypes or offsets do not suit it (M above those, K % 4, unaligned
 * views): the caller then runs the plain ops.
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
  if (m > (tiled ? decodeTuning.tileMaxRows : decodeTuning.gemvMaxRows)) return false;
  if (k % 4 !== 0 || [x, w, ...(g ? [g] : [])].some((t) => t.offset % 4 !== 0)) return false;
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
    const bn = decodeTuning.tileCols === "auto" ? (n >= 2048 ? 64 : 32) : decodeTuning.tileCols;
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
  return dispatchGemv(rt, { ...switches, COMBINE: 0 }, [out, x, w, g ?? w], params, m, n);
}

/** paged_gemv.wgsl's GEMV entry over (M, N); false when its grid would be too wide. */
function dispatchGemv(
  rt: Runtime,
  switches: Record<string, number>,
  bindings: Tensor[],
  params: ArrayBuffer,
  m: number,
  n: number,
): boolean {
  if (!gemvGridFits(rt, m, n)) return false;
  const cols = gemvCols(m);
  rt.dispatch({
    ...kernel("paged_gemv"),
    constants: { ...switches, COLS: cols },
    bindings,
    params,
    offsetWords: [0, 1, 2, 3],
    workgroups: [Math.ceil(n / cols), Math.ceil(m / GEMV_ROW_BLOCK), 1],
  });
  return true;
}

function gemvCols(m: number): number {
  return decodeTuning.gemvCols === "auto" ? (m <= 16 ? 4 : 16) : decodeTuning.gemvCols;
}

function gemvGridFits(rt: Runtime, m: number, n: number): boolean {
  return Math.ceil(n / gemvCols(m)) <= (rt.limits.maxComputeWorkgroupsPerDimension ?? 65535);
}

/** paged_gemv.wgsl CWMAX: split weights a COMBINE workgroup holds (rows x heads x splits). */
const COMBINE_WEIGHTS = 4096;

/**
 * out (M, N) += attention(rope(q)) @ w^T, a decode step's attention and output projection for at
 * most decodeTuning.gemvMaxRows rows in two dispatches: pagedAttention's partials pass, then the
 * GEMV with COMBINE, which merges the partials as it reads them (no combine pass). q (M, H, D)
 * before rope; att (M, H, D): pagedAttention's output shape (checked, not written); w (N, H * D);
 * out f32, the residual. Returns false (nothing recorded) when it does not apply (more rows, the
 * streaming attention kernel not applicable, more splits than a workgroup's weights hold): the
 * caller then runs the attention and the linear apart.
 */
export function encodeAttentionLinear(
  rt: Runtime,
  io: { out: Tensor; att: Tensor; q: Tensor; kPool: Tensor; vPool: Tensor; w: Tensor },
  meta: PagedAttentionMeta,
  ropeBase: number,
): boolean {
  const { out, att, q, kPool, vPool, w } = io;
  if (!decodeTuning.combineInLinear || q.shape.length !== 3 || w.shape.length !== 2) return false;
  const [m, heads, hd] = q.shape as [number, number, number];
  const [n, k] = w.shape as [number, number];
  const ok =
    m >= 1 &&
    m <= decodeTuning.gemvMaxRows &&
    k === heads * hd &&
    hd % 4 === 0 &&
    out.dtype === "f32" &&
    w.dtype === "f32" &&
    numel(out.shape) === m * n &&
    w.offset % 4 === 0 &&
    gemvGridFits(rt, m, n);
  if (!ok) return false;
  const maxSplits = Math.floor(COMBINE_WEIGHTS / (GEMV_ROW_BLOCK * heads));
  rt.beginOp();
  rt.check(out, "attention linear out");
  rt.check(w, "attention linear w");
  const parts = encodePagedPartials(rt, { out: att, q, kPool, vPool }, meta, ropeBase, maxSplits);
  if (parts === null) return false;
  if (parts === "empty") return true;
  const params = packParams([
    ...[0, 0, 0, 0, m, n, k / 4, 0, 0, 0],
    ...[0, 0, 0, 0, 0, 0, 0, k, heads, hd / 4, parts.nSplit],
  ]);
  const switches = { ACCUM: 1, NORM: 0, SWIGLU: 0, QKV: 0, COMBINE: 1 };
  return dispatchGemv(rt, switches, [out, parts.part, w, w], params, m, n);
}
