// WebGPU paged-KV ops: kvWrite (kernels/paged_kv_write.wgsl) and pagedAttention, flash-decoding
// style: partials over key splits, then paged_combine.wgsl. Which partials kernel runs and how it
// splits the keys: paged-plan.ts (the streaming paged_attention_vec.wgsl where the head dim and the
// pools' offsets allow, else the general paged_attention.wgsl; the tensor-core kernel when asked).
// Shapes are validated on the host (shared with the cpu backend); metadata VALUES live on the
// device and are not read back: bad slots are skipped, bad block ids read garbage, not memory.
import { BackendError } from "../../../errors.js";
import type { PagedAttentionMeta } from "../../backend.js";
import type { AttentionMmaMode } from "../../registry.js";
import { kvWriteDims, pagedAttentionDims, poolDims } from "../../op-shapes-attention.js";
import type { Tensor } from "../../tensor.js";
import { expectDType, expectShape, numel } from "../../tensor.js";
import { dtypeCode, kernel, kernelWith } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";
import { decodeTuning, GEMV_ROW_BLOCK, TILE_ROWS } from "./decode-linear.js";
import { pagedKernelCounts, partialsPlan, splitCount } from "./paged-plan.js";
import { ropeTable } from "./rope.js";

export function encodeKvWrite(rt: Runtime, pool: Tensor, src: Tensor, slots: Tensor): void {
  for (const [t, what] of [
    [pool, "kvWrite pool"],
    [src, "kvWrite src"],
    [slots, "kvWrite slots"],
  ] as const)
    rt.check(t, what);
  const { numBlocks, blockSize, hkv, d, n } = kvWriteDims(pool, src, slots);
  const row = hkv * d;
  if (n * row === 0) return;
  rt.dispatch({
    ...kernel("paged_kv_write"),
    constants: { DT_POOL: dtypeCode(pool.dtype) },
    bindings: [pool, src, slots],
    params: packParams([0, 0, 0, n, row, numBlocks * blockSize]),
    offsetWords: [0, 1, 2],
    workgroups: Math.ceil((n * row) / 256),
  });
}

/** The rope table tensor ops/rope.ts uses (shared: one per (base, D) for the runtime's life). */
function ropeTab(rt: Runtime, base: number, d: number): Tensor {
  return rt.constant(`rope:${base}:${d}`, () => ropeTable(base, d));
}

/**
 * pagedAttention. With `ropeBase` (the engine step), q arrives before rope and is rotated on load
 * by each row's position; then only the kernels that can rope on load are used and false means
 * "not applicable, nothing recorded" (the caller ropes and calls the plain op). Without it, always
 * true. `mma`: when the tensor-core kernel runs (default pagedTuning.mma).
 */
export function encodePagedAttention(
  rt: Runtime,
  io: { out: Tensor; q: Tensor; kPool: Tensor; vPool: Tensor },
  meta: PagedAttentionMeta,
  opts: { ropeBase?: number; mma?: AttentionMmaMode } = {},
): boolean {
  const { ropeBase } = opts;
  const { out, q, kPool, vPool } = io;
  const { blockTables, seqLens, queryStarts, lse } = meta;
  const named = { out, q, kPool, vPool, blockTables, seqLens, queryStarts, ...(lse ? { lse } : {}) };
  for (const [name, t] of Object.entries(named)) rt.check(t, `pagedAttention ${name}`);
  const dims = pagedAttentionDims(out, q, kPool, vPool, meta);
  const { n, b, nHeads: h, nKvHeads: hkv, headDim: hd, blockSize: bs, maxBlocksPerSeq: mb } = dims;
  const gq = h / hkv;
  const maxKeys = Math.max(1, mb * bs);
  const rows = n * hkv;
  const plan = partialsPlan(rt, kPool, vPool, {
    hd,
    gq,
    blockSize: bs,
    rows,
    maxKeys,
    ...(opts.mma !== undefined ? { mma: opts.mma } : {}),
  });
  if (ropeBase !== undefined && (!plan.fused || hd % 2 !== 0)) return false;
  if (n * h * hd === 0 || b === 0) return true;
  const nSplit = splitCount(rows, maxKeys, plan.targetWorkgroups, plan.minKeys);
  pagedKernelCounts[plan.kind]++;
  const part = rt.scratch(n * h * nSplit * (hd + 2), "f32", "paged partials");
  const scale = dims.scale ?? 1 / Math.sqrt(hd);
  rt.dispatch({
    ...plan.source,
    entry: "partials",
    constants: plan.constants(nSplit, rows * nSplit, ropeBase === undefined ? 0 : 1),
    bindings: [
      part,
      q,
      kPool,
      vPool,
      blockTables,
      seqLens,
      queryStarts,
      ...(plan.fused ? [ropeBase === undefined ? seqLens : ropeTab(rt, ropeBase, hd)] : []),
    ],
    params: packParams([
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      n,
      h,
      hkv,
      bs,
      mb,
      b,
      nSplit,
      plan.granularity,
      f32(scale),
      (dims.causal ?? true) ? 1 : 0,
      0,
    ]),
    offsetWords: plan.fused ? [0, 1, 2, 3, 4, 5, 6, 17] : [0, 1, 2, 3, 4, 5, 6],
    workgroups: rows * nSplit,
  });
  rt.dispatch({
    ...kernel("paged_combine"),
    bindings: [out, lse ?? rt.scratch(1, "f32", "no lse"), part],
    params: packParams([0, 0, 0, n, h, hd, nSplit, lse ? 1 : 0]),
    offsetWords: [0, 1, 2],
    workgroups: n * h,
  });
  return true;
}

// ---- decode-path kernels of the paged engine (the linear layer: decode-linear.ts) -------------

/**
 * A producer layer's q/k/v projection with the K/V append fused in (kernels/paged_gemv.wgsl +
 * paged_qkv_append.wgsl, entry `qkv_append`, up to decodeTuning.gemvMaxRows rows; from
 * tileAppendMinRows to tileMaxRows, paged_mm.wgsl's tile with paged_mm_append.wgsl, entry
 * `tile_append`, for head dims of 32 or 64): q (M, nq) = rmsnorm(x) * g[0] @ wq^T into `out`;
 * rope(rmsnorm(x) * g[1] @ wk^T) and rmsnorm(x) * g[1] @ wv^T into kPool / vPool rows at each row's
 * slot, in one dispatch. w = [wq; wk; wv] (nq + 2 nkv, K); g: q's norm weight at 0, k/v's at
 * gKv; ps (2M) i32 = positions then
 * slots. Returns false (nothing recorded) when the shapes, dtypes or offsets do not suit it.
 */
export function encodeQkvAppend(
  rt: Runtime,
  io: { out: Tensor; x: Tensor; w: Tensor; g: Tensor; kPool: Tensor; vPool: Tensor; ps: Tensor },
  opts: { nq: number; nkv: number; gKv: number; eps: number; ropeBase: number },
): boolean {
  const { out, x, w, g, kPool, vPool, ps } = io;
  const { nq, nkv, gKv } = opts;
  if (!decodeTuning.fuseKvAppend) return false;
  if ([out, x, w, g].some((t) => t.dtype !== "f32") || ps.dtype !== "i32") return false;
  if (kPool.shape.length !== 4 || kPool.dtype !== vPool.dtype) return false;
  const [numBlocks, blockSize, hkv, d] = poolDims("qkvAppend pool", kPool);
  const m = x.shape[0] ?? 0;
  const k = w.shape[1] ?? 0;
  const tiled = m > decodeTuning.gemvMaxRows;
  const ok =
    x.shape.length === 2 &&
    w.shape.length === 2 &&
    x.shape[1] === k &&
    w.shape[0] === nq + 2 * nkv &&
    numel(out.shape) === m * nq &&
    numel(g.shape) === gKv + k &&
    gKv % 4 === 0 &&
    numel(ps.shape) === 2 * m &&
    nkv === hkv * d &&
    nq % 16 === 0 &&
    d % 16 === 0 &&
    k % 4 === 0 &&
    m <= (tiled ? decodeTuning.tileMaxRows : decodeTuning.gemvMaxRows) &&
    (!tiled || m >= decodeTuning.tileAppendMinRows) &&
    (!tiled || ((d === 32 || d === 64) && nq % d === 0)) &&
    [x, w, g].every((t) => t.offset % 4 === 0) &&
    (kPool.dtype === "f32" || (kPool.offset % 2 === 0 && vPool.offset % 2 === 0));
  if (!ok) return false;
  expectShape("qkvAppend v pool", vPool, kPool.shape);
  rt.beginOp();
  for (const t of [out, x, w, g, kPool, vPool, ps]) rt.check(t, "qkvAppend");
  if (m === 0) return true;
  const params = packParams([
    ...[0, 0, 0, 0, m, nq + 2 * nkv, k / 4, f32(opts.eps), nq, nkv],
    ...[0, 0, 0, 0, hkv, d, numBlocks * blockSize, gKv],
  ]);
  const bindings = [out, x, w, g, kPool, vPool, ps, ropeTab(rt, opts.ropeBase, d)];
  const constants = { ACCUM: 0, NORM: 1, SWIGLU: 0, QKV: 1, DT_POOL: dtypeCode(kPool.dtype) };
  const helpers = ["paged_rope", "paged_pool_store", "paged_qkv_append"];
  if (tiled) {
    rt.dispatch({
      ...kernelWith("paged_gemv", ["paged_mm", ...helpers, "paged_mm_append"]),
      entry: "tile_append",
      constants: { ...constants, BN: d },
      bindings,
      params,
      offsetWords: [0, 1, 2, 3, 10, 11, 12, 13],
      workgroups: [(nq + 2 * nkv) / d, Math.ceil(m / TILE_ROWS), 1],
    });
    return true;
  }
  rt.dispatch({
    ...kernelWith("paged_gemv", helpers),
    entry: "qkv_append",
    constants,
    bindings,
    params,
    offsetWords: [0, 1, 2, 3, 10, 11, 12, 13],
    workgroups: [nq / 16 + (2 * nkv) / 16, Math.ceil(m / GEMV_ROW_BLOCK), 1],
  });
  return true;
}

/**
 * The step's K/V append, fused (kernels/paged_kv_append.wgsl): kPool[slots] = rope(k), vPool[slots]
 * = v, in one dispatch. k, v (N, Hkv, D) f32 (k before rope); slots, positions (N) i32. Returns
 * false (nothing recorded) when D % 4 or the pools' dtypes/offsets do not suit it.
 */
export function encodeKvAppend(
  rt: Runtime,
  io: { kPool: Tensor; vPool: Tensor; k: Tensor; v: Tensor; slots: Tensor; positions: Tensor },
  ropeBase: number,
): boolean {
  const { kPool, vPool, k, v, slots, positions } = io;
  const [numBlocks, blockSize, hkv, d] = poolDims("kvAppend pool", kPool);
  const n = numel(slots.shape);
  if (kPool.dtype !== vPool.dtype || d % 4 !== 0 || k.dtype !== "f32" || v.dtype !== "f32") return false;
  if (kPool.dtype !== "f32" && (kPool.offset % 2 !== 0 || vPool.offset % 2 !== 0)) return false;
  expectShape("kvAppend v pool", vPool, kPool.shape);
  expectShape("kvAppend k", k, [n, hkv, d]);
  expectShape("kvAppend v", v, [n, hkv, d]);
  expectShape("kvAppend positions", positions, [n]);
  rt.beginOp();
  for (const t of [kPool, vPool, k, v, slots, positions]) rt.check(t, "kvAppend");
  if (n * hkv * d === 0) return true;
  rt.dispatch({
    ...kernelWith("paged_kv_append", ["paged_rope", "paged_pool_store"]),
    constants: { DT_POOL: dtypeCode(kPool.dtype) },
    bindings: [kPool, vPool, k, v, slots, positions, ropeTab(rt, ropeBase, d)],
    params: packParams([0, 0, 0, 0, 0, 0, 0, n, hkv, d, numBlocks * blockSize]),
    offsetWords: [0, 1, 2, 3, 4, 5, 6],
    workgroups: Math.ceil((n * hkv * d) / 4 / 256),
  });
  return true;
}

/** out (M) i32 = argmax of each row of logits (M, V) f32 (lowest index on ties; -1: a NaN/+Inf row). */
export function encodeArgmaxRows(rt: Runtime, out: Tensor, logits: Tensor): void {
  rt.beginOp();
  rt.check(out, "argmax out");
  rt.check(logits, "argmax logits");
  expectDType("argmax logits", logits, "f32");
  expectDType("argmax out", out, "i32");
  if (logits.shape.length !== 2) {
    throw new BackendError(`argmax logits must be (M, V), got [${logits.shape}]`);
  }
  const [m, v] = logits.shape as [number, number];
  expectShape("argmax out", out, [m]);
  if (m * v === 0) return;
  rt.dispatch({
    ...kernel("paged_argmax"),
    bindings: [out, logits],
    params: packParams([0, 0, m, v]),
    offsetWords: [0, 1],
    workgroups: m,
  });
}
