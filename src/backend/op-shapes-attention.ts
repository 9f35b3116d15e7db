// Shape and dtype validation shared by every backend for attention, its backward and the paged-KV
// ops (kvWrite, pagedAttention): pure functions that throw ShapeError naming the op and argument and
// return the dims the kernels need. They never read metadata values (block ids, lengths): the
// backends check those where they can afford it. The other ops: op-shapes.ts.
import { ShapeError } from "../errors.js";
import type { AttentionOptions, PagedAttentionMeta } from "./backend.js";
import type { AttentionDims } from "./reference/attention.js";
import type { PagedDims } from "./reference/paged.js";
import { expectDType, expectShape, numel, sameShape, type Tensor } from "./tensor.js";

/** q (B, T, H, D) f32, k/v (B, S, Hkv, D) f32/f16/bf16 with Hkv | H, lse (B, H, T) f32. */
export function attentionDims(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lse: Tensor,
  opts: AttentionOptions,
): AttentionDims {
  if (q.shape.length !== 4) throw new ShapeError(`attention q must be (B, T, H, D), got [${q.shape}]`);
  if (k.shape.length !== 4) throw new ShapeError(`attention k must be (B, S, Hkv, D), got [${k.shape}]`);
  const [b, t, h, d] = q.shape as [number, number, number, number];
  const [kb, s, hkv, kd] = k.shape as [number, number, number, number];
  if (kb !== b || kd !== d) {
    throw new ShapeError(`attention k [${k.shape}] must be (B=${b}, S, Hkv, D=${d}) to match q [${q.shape}]`);
  }
  if (hkv === 0 || h % hkv !== 0) {
    throw new ShapeError(
      `attention: Hkv ${hkv} (k [${k.shape}]) does not divide H ${h}: choose a divisor of ${h}`,
    );
  }
  expectShape("attention v", v, k.shape);
  expectDType("attention q", q, "f32");
  expectDType("attention k", k, "f32", "f16", "bf16");
  expectDType("attention v", v, "f32", "f16", "bf16");
  expectShape("attention lse", lse, [b, h, t]);
  expectDType("attention lse", lse, "f32");
  return { b, t, s, h, hkv, d, scale: opts.scale ?? 1 / Math.sqrt(d), causal: opts.causal ?? false };
}

/** The forward: attentionDims plus out (B, T, H, D) f32. */
export function attentionForwardDims(
  io: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor },
  opts: AttentionOptions,
): AttentionDims {
  const dims = attentionDims(io.q, io.k, io.v, io.lse, opts);
  expectShape("attention out", io.out, io.q.shape);
  expectDType("attention out", io.out, "f32");
  return dims;
}

/** The backward: attentionDims plus dq, dOut, out like q and dk, dv like k, all f32. */
export function attentionBackwardDims(
  io: Record<"dq" | "dk" | "dv" | "dOut" | "q" | "k" | "v" | "out" | "lse", Tensor>,
  opts: AttentionOptions,
): AttentionDims {
  const dims = attentionDims(io.q, io.k, io.v, io.lse, opts);
  for (const [name, t, like] of [
    ["dq", io.dq, io.q],
    ["dOut", io.dOut, io.q],
    ["out", io.out, io.q],
    ["dk", io.dk, io.k],
    ["dv", io.dv, io.k],
  ] as const) {
    expectShape(`attentionBackward ${name}`, t, like.shape);
    expectDType(`attentionBackward ${name}`, t, "f32");
  }
  return dims;
}

/** (numBlocks, blockSize, Hkv, D) of a pool (f32/f16/bf16); names the argument on failure. */
export function poolDims(what: string, pool: Tensor): [number, number, number, number] {
  if (pool.shape.length !== 4)
    throw new ShapeError(`${what} must be (numBlocks, blockSize, Hkv, D), got [${pool.shape}]`);
  expectDType(what, pool, "f32", "f16", "bf16");
  return pool.shape as [number, number, number, number];
}

/** pool (numBlocks, blockSize, Hkv, D), src (N, Hkv, D) f32, slots (N) i32 (values not read). */
export function kvWriteDims(
  pool: Tensor,
  src: Tensor,
  slots: Tensor,
): { numBlocks: number; blockSize: number; hkv: number; d: number; n: number } {
  const [numBlocks, blockSize, hkv, d] = poolDims("kvWrite pool", pool);
  expectDType("kvWrite src", src, "f32");
  expectDType("kvWrite slots", slots, "i32");
  const n = numel(slots.shape);
  expectShape("kvWrite src", src, [n, hkv, d]);
  return { numBlocks, blockSize, hkv, d, n };
}

/** Checks q/out/pools/meta shapes; returns the dims (N from q) without reading meta values. */
export function pagedAttentionDims(
  out: Tensor,
  q: Tensor,
  kPool: Tensor,
  vPool: Tensor,
  meta: PagedAttentionMeta,
): PagedDims & { n: number; b: number } {
  const [numBlocks, blockSize, nKvHeads, headDim] = poolDims("pagedAttention kPool", kPool);
  poolDims("pagedAttention vPool", vPool);
  if (!sameShape(kPool.shape, vPool.shape) || kPool.dtype !== vPool.dtype) {
    throw new ShapeError(
      `pagedAttention vPool [${vPool.shape}] ${vPool.dtype} must match kPool [${kPool.shape}] ${kPool.dtype}`,
    );
  }
  if (q.shape.length !== 3 || q.shape[2] !== headDim) {
    throw new ShapeError(`pagedAttention q must be (N, H, ${headDim}) to match the pools, got [${q.shape}]`);
  }
  const [n, nHeads] = q.shape as [number, number, number];
  if (nHeads % nKvHeads !== 0) {
    throw new ShapeError(`pagedAttention: Hkv ${nKvHeads} does not divide H ${nHeads}: use a divisor`);
  }
  expectDType("pagedAttention q", q, "f32");
  expectDType("pagedAttention out", out, "f32");
  expectShape("pagedAttention out", out, q.shape);
  const bt = meta.blockTables;
  if (bt.shape.length !== 2)
    throw new ShapeError(`pagedAttention blockTables must be (B, maxBlocksPerSeq), got [${bt.shape}]`);
  const [b, maxBlocksPerSeq] = bt.shape as [number, number];
  for (const [name, t, shape] of [
    ["blockTables", bt, bt.shape],
    ["seqLens", meta.seqLens, [b]],
    ["queryStarts", meta.queryStarts, [b + 1]],
  ] as const) {
    expectDType(`pagedAttention ${name}`, t, "i32");
    expectShape(`pagedAttention ${name}`, t, shape);
  }
  if (meta.lse) {
    expectDType("pagedAttention lse", meta.lse, "f32");
    expectShape("pagedAttention lse", meta.lse, [n, nHeads]);
  }
  return {
    n,
    b,
    nHeads,
    nKvHeads,
    headDim,
    blockSize,
    maxBlocksPerSeq,
    numBlocks,
    ...(meta.scale !== undefined ? { scale: meta.scale } : {}),
    ...(meta.causal !== undefined ? { causal: meta.causal } : {}),
  };
}
