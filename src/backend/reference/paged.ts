// Reference semantics (plain loops, f64 arithmetic) of the paged-KV ops: kvWrite (scatter new K/V
// rows into pool slots) and pagedAttention (varlen attention reading K/V through block tables).
// The CPU backend runs `pagedAttentionCore` on its storage spans; tests use `pagedAttentionRef` on
// host arrays as the oracle. Pools are (numBlocks * blockSize, Hkv, D) rows; slot = block*bs + offset.
import { ShapeError } from "../../errors.js";
import type { FloatArray, Span } from "./types.js";

/** pool[slots[n]] = src[n] for every row n (N rows of Hkv*D); slot -1 is padding and skipped. */
export function kvWriteRef(
  pool: FloatArray,
  src: ArrayLike<number>,
  slots: Int32Array,
  rowElems: number,
): void {
  const nSlots = pool.length / rowElems;
  if (src.length !== slots.length * rowElems) {
    throw new ShapeError(
      `kvWrite: src has ${src.length} elements, expected ${slots.length} rows of ${rowElems}`,
    );
  }
  checkSlots(slots, nSlots);
  for (let n = 0; n < slots.length; n++) {
    const s = slots[n]!;
    if (s === -1) continue;
    for (let i = 0; i < rowElems; i++) pool[s * rowElems + i] = src[n * rowElems + i]!;
  }
}

/** Throws unless every slot is -1 (skip) or in [0, nSlots). */
export function checkSlots(slots: ArrayLike<number>, nSlots: number): void {
  for (let n = 0; n < slots.length; n++) {
    const s = slots[n]!;
    if (s !== -1 && (!Number.isInteger(s) || s < 0 || s >= nSlots)) {
      throw new ShapeError(`kvWrite: slot ${s} of row ${n} is outside the pool's ${nSlots} slots`);
    }
  }
}

/** Sizes of one pagedAttention call. */
export interface PagedDims {
  nHeads: number; // H
  nKvHeads: number; // Hkv
  headDim: number; // D
  blockSize: number;
  /** Columns of the block table. */
  maxBlocksPerSeq: number;
  /** Blocks in each pool. */
  numBlocks: number;
  /** Default 1 / sqrt(D). */
  scale?: number;
  /** Default true: query i of sequence b sits at position seqLens[b] - qLen_b + i, sees keys <= it. */
  causal?: boolean;
}

/** Per-step metadata as host integers: (B, maxBlocksPerSeq) tables, (B) lengths, (B + 1) starts. */
export interface PagedMetaArrays {
  blockTables: ArrayLike<number>;
  seqLens: ArrayLike<number>;
  queryStarts: ArrayLike<number>;
}

/** Where block `blk` of the K or V pool starts: (blockSize, Hkv, D) elements from span.off. */
export interface PagedKvSource {
  kBlock(blk: number): Span;
  vBlock(blk: number): Span;
}

/** Validates metadata against the dims; returns N (query rows). Messages name the sequence. */
export function checkPagedMeta(dims: PagedDims, meta: PagedMetaArrays): number {
  const { nHeads: H, nKvHeads: Hkv, blockSize: bs, maxBlocksPerSeq: mb } = dims;
  if (H % Hkv !== 0) throw new ShapeError(`pagedAttention: Hkv ${Hkv} does not divide H ${H}`);
  const B = meta.seqLens.length;
  if (meta.queryStarts.length !== B + 1) {
    throw new ShapeError(
      `pagedAttention: queryStarts has ${meta.queryStarts.length} entries, expected B + 1 = ${B + 1}`,
    );
  }
  if (meta.blockTables.length !== B * mb) {
    throw new ShapeError(
      `pagedAttention: blockTables has ${meta.blockTables.length} entries, expected ${B} x ${mb}`,
    );
  }
  if (meta.queryStarts[0] !== 0) throw new ShapeError("pagedAttention: queryStarts[0] must be 0");
  for (let b = 0; b < B; b++) {
    const qLen = meta.queryStarts[b + 1]! - meta.queryStarts[b]!;
    const S = meta.seqLens[b]!;
    if (qLen < 0 || qLen > S)
      throw new ShapeError(`pagedAttention: sequence ${b} has ${qLen} queries but ${S} keys`);
    if (S > mb * bs)
      throw new ShapeError(`pagedAttention: sequence ${b} has ${S} keys but ${mb} blocks of ${bs}`);
    for (let i = 0; i < Math.ceil(S / bs); i++) {
      const blk = meta.blockTables[b * mb + i]!;
      if (!Number.isInteger(blk) || blk < 0 || blk >= dims.numBlocks)
        throw new ShapeError(`pagedAttention: sequence ${b} block ${blk} is out of range`);
    }
  }
  return meta.queryStarts[B]!;
}

/**
 * out (N, H, D) and optional lse (N, H): for each query row, softmax(q k^T * scale) v over the keys
 * it sees, read block by block through the table. Query head h reads K/V head floor(h / (H/Hkv)).
 * Exact two-pass softmax in JS numbers; metadata must have passed checkPagedMeta.
 */
export function pagedAttentionCore(
  dims: PagedDims,
  meta: PagedMetaArrays,
  io: { out: Span; lse: Span | null; q: Span; kv: PagedKvSource },
): void {
  const { nHeads: H, nKvHeads: Hkv, headDim: D, blockSize: bs, maxBlocksPerSeq: mb } = dims;
  const scale = dims.scale ?? 1 / Math.sqrt(D);
  const causal = dims.causal ?? true;
  const group = H / Hkv;
  const row = Hkv * D;
  const { out, lse, q } = io;
  const acc = new Float64Array(D);
  for (let b = 0; b < meta.seqLens.length; b++) {
    const q0 = meta.queryStarts[b]!;
    const qLen = meta.queryStarts[b + 1]! - q0;
    const S = meta.seqLens[b]!;
    if (qLen === 0) continue;
    const nb = Math.ceil(S / bs);
    const kb: Span[] = [];
    const vb: Span[] = [];
    for (let i = 0; i < nb; i++) {
      const blk = meta.blockTables[b * mb + i]!;
      kb.push(io.kv.kBlock(blk));
      vb.push(io.kv.vBlock(blk));
    }
    const scores = new Float64Array(S);
    for (let i = 0; i < qLen; i++) {
      const seen = causal ? S - qLen + i + 1 : S;
      for (let h = 0; h < H; h++) {
        const hOff = Math.floor(h / group) * D;
        const qo = q.off + ((q0 + i) * H + h) * D;
        let mx = Number.NEGATIVE_INFINITY;
        for (let p = 0; p < seen; p++) {
          const k = kb[Math.floor(p / bs)]!;
          const ko = k.off + (p % bs) * row + hOff;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qo + d]! * k.data[ko + d]!;
          scores[p] = dot * scale;
          if (scores[p]! > mx) mx = scores[p]!;
        }
        acc.fill(0);
        let sum = 0;
        for (let p = 0; p < seen; p++) {
          const w = Math.exp(scores[p]! - mx);
          sum += w;
          const v = vb[Math.floor(p / bs)]!;
          const vo = v.off + (p % bs) * row + hOff;
          for (let d = 0; d < D; d++) acc[d]! += w * v.data[vo + d]!;
        }
        const oo = out.off + ((q0 + i) * H + h) * D;
        for (let d = 0; d < D; d++) out.data[oo + d] = acc[d]! / sum;
        if (lse) lse.data[lse.off + (q0 + i) * H + h] = mx + Math.log(sum);
      }
    }
  }
}

export interface PagedAttentionRefArgs extends PagedMetaArrays {
  /** q: (N, H, D), the new tokens of all sequences packed: rows [queryStarts[b], queryStarts[b+1]). */
  q: ArrayLike<number>;
  /** kPool, vPool: (numBlocks * blockSize, Hkv, D). */
  kPool: ArrayLike<number>;
  vPool: ArrayLike<number>;
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  seqLens: Int32Array;
  queryStarts: Int32Array;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  blockSize: number;
  scale?: number;
  causal?: boolean;
}

/** The oracle on host arrays: out (N, H, D) and lse (N, H) in f64. Throws ShapeError on bad metadata. */
export function pagedAttentionRef(a: PagedAttentionRefArgs): { out: Float64Array; lse: Float64Array } {
  const row = a.nKvHeads * a.headDim;
  const dims: PagedDims = { ...a, numBlocks: Math.floor(a.kPool.length / (a.blockSize * row)) };
  const N = checkPagedMeta(dims, a);
  if (a.q.length !== N * a.nHeads * a.headDim) {
    throw new ShapeError(
      `pagedAttention: q has ${a.q.length} elements, expected ${N}x${a.nHeads}x${a.headDim}`,
    );
  }
  const f64 = (x: ArrayLike<number>) => (x instanceof Float64Array ? x : Float64Array.from(x));
  const k = f64(a.kPool);
  const v = f64(a.vPool);
  const out = new Float64Array(N * a.nHeads * a.headDim);
  const lse = new Float64Array(N * a.nHeads);
  const blockElems = a.blockSize * row;
  pagedAttentionCore(dims, a, {
    out: { data: out, off: 0 },
    lse: { data: lse, off: 0 },
    q: { data: f64(a.q), off: 0 },
    kv: {
      kBlock: (blk) => ({ data: k, off: blk * blockElems }),
      vBlock: (blk) => ({ data: v, off: blk * blockElems }),
    },
  });
  return { out, lse };
}
