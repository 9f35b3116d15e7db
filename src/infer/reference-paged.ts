// Reference (f64, plain loops) semantics of the two ops the paged KV cache needs from a backend:
// kvWrite (scatter new K/V rows into pool slots) and pagedAttention (varlen attention that reads
// K/V through block tables). Backends adopt these as their conformance oracle; nothing here is fast.
// Pools are (numBlocks * blockSize, Hkv, D) rows; slot = block * blockSize + offset.
import { ShapeError } from "../errors.js";
import type { Tensor } from "../backend/tensor.js";

/**
 * PROPOSED additions to the Backend contract (backend.ts), with the semantics of the reference
 * functions below. Until a backend has them, kv-ops.ts does the same with `cast` + `attention`.
 */
export interface PagedKvBackendOps {
  /**
   * Scatter: pool viewed as (numBlocks * blockSize, Hkv, D) rows; pool[slots[n]] = src[n], rounded
   * to the pool's dtype (f32/f16/bf16). src (N, Hkv, D) f32; slots (N) i32, distinct; -1 = skip.
   */
  kvWrite(pool: Tensor, src: Tensor, slots: Tensor): void;
  /**
   * Varlen attention over paged K/V. out, q: (N, H, D) f32, the new tokens of B sequences packed;
   * kPool, vPool: (numBlocks, blockSize, Hkv, D) f32/f16/bf16 (a sharing layer passes its
   * producer's pools). Query head h reads K/V head floor(h / (H / Hkv)).
   */
  pagedAttention(out: Tensor, q: Tensor, kv: { k: Tensor; v: Tensor }, meta: PagedAttentionMeta): void;
}

export interface PagedAttentionMeta {
  /** (B, maxBlocksPerSeq) i32; entries past a sequence's length are ignored. */
  blockTables: Tensor;
  /** (B) i32: keys per sequence, cached + new (the new K/V already written by kvWrite). */
  seqLens: Tensor;
  /** (B + 1) i32: rows of sequence b in q/out are [queryStarts[b], queryStarts[b + 1]). */
  queryStarts: Tensor;
  /** Optional (N, H) f32 logsumexp output. */
  lse?: Tensor;
  /** Default 1 / sqrt(D). */
  scale?: number;
  /** Default true: query i of sequence b sits at seqLens[b] - qLen_b + i and sees keys <= it. */
  causal?: boolean;
}

type Floats = Float32Array | Float64Array;

/** pool[slots[n]] = src[n] for every row n (N rows of Hkv*D); slot -1 is padding and skipped. */
export function kvWriteRef(pool: Floats, src: ArrayLike<number>, slots: Int32Array, rowElems: number): void {
  const nSlots = pool.length / rowElems;
  if (src.length !== slots.length * rowElems) {
    throw new ShapeError(
      `kvWrite: src has ${src.length} elements, expected ${slots.length} rows of ${rowElems}`,
    );
  }
  for (let n = 0; n < slots.length; n++) {
    const s = slots[n]!;
    if (s === -1) continue;
    if (!Number.isInteger(s) || s < 0 || s >= nSlots) {
      throw new ShapeError(`kvWrite: slot ${s} of row ${n} is outside the pool's ${nSlots} slots`);
    }
    for (let i = 0; i < rowElems; i++) pool[s * rowElems + i] = src[n * rowElems + i]!;
  }
}

export interface PagedAttentionRefArgs {
  /** q: (N, H, D), the new tokens of all sequences packed: rows [queryStarts[b], queryStarts[b+1]). */
  q: ArrayLike<number>;
  /** kPool, vPool: (numBlocks * blockSize, Hkv, D). */
  kPool: ArrayLike<number>;
  vPool: ArrayLike<number>;
  /** blockTables: (B, maxBlocksPerSeq) row-major i32; entries past a sequence's length are ignored. */
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  /** seqLens: (B) keys of each sequence, cached + new (the new tokens' K/V are already written). */
  seqLens: Int32Array;
  /** queryStarts: (B + 1) prefix offsets into q's rows; qLen_b = queryStarts[b+1] - queryStarts[b]. */
  queryStarts: Int32Array;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  blockSize: number;
  /** Default 1 / sqrt(D). */
  scale?: number;
  /** Default true: query i of sequence b sits at position seqLens[b] - qLen_b + i, sees keys <= it. */
  causal?: boolean;
}

/**
 * out (N, H, D) and lse (N, H) in f64. Query head h reads K/V head floor(h / (H / Hkv)); a
 * sequence with qLen 0 contributes no rows. Throws ShapeError on inconsistent metadata.
 */
export function pagedAttentionRef(a: PagedAttentionRefArgs): { out: Float64Array; lse: Float64Array } {
  const { nHeads: H, nKvHeads: Hkv, headDim: D, blockSize: bs, maxBlocksPerSeq: mb } = a;
  if (H % Hkv !== 0) throw new ShapeError(`pagedAttention: Hkv ${Hkv} does not divide H ${H}`);
  const B = a.seqLens.length;
  if (a.queryStarts.length !== B + 1) {
    throw new ShapeError(
      `pagedAttention: queryStarts has ${a.queryStarts.length} entries, expected B + 1 = ${B + 1}`,
    );
  }
  if (a.blockTables.length !== B * mb) {
    throw new ShapeError(
      `pagedAttention: blockTables has ${a.blockTables.length} entries, expected ${B} x ${mb}`,
    );
  }
  const N = a.queryStarts[B]!;
  if (a.q.length !== N * H * D)
    throw new ShapeError(`pagedAttention: q has ${a.q.length} elements, expected ${N}x${H}x${D}`);
  const nSlots = a.kPool.length / (Hkv * D);
  const scale = a.scale ?? 1 / Math.sqrt(D);
  const causal = a.causal ?? true;
  const group = H / Hkv;
  const out = new Float64Array(N * H * D);
  const lse = new Float64Array(N * H);
  for (let b = 0; b < B; b++) {
    const q0 = a.queryStarts[b]!;
    const qLen = a.queryStarts[b + 1]! - q0;
    const S = a.seqLens[b]!;
    if (qLen < 0 || qLen > S)
      throw new ShapeError(`pagedAttention: sequence ${b} has ${qLen} queries but ${S} keys`);
    if (S > mb * bs)
      throw new ShapeError(`pagedAttention: sequence ${b} has ${S} keys but ${mb} blocks of ${bs}`);
    const slots = new Int32Array(S);
    for (let p = 0; p < S; p++) {
      const blk = a.blockTables[b * mb + Math.floor(p / bs)]!;
      slots[p] = blk * bs + (p % bs);
      if (blk < 0 || slots[p]! >= nSlots)
        throw new ShapeError(`pagedAttention: sequence ${b} block ${blk} is out of range`);
    }
    for (let i = 0; i < qLen; i++) {
      const last = causal ? S - qLen + i : S - 1;
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / group);
        const qo = ((q0 + i) * H + h) * D;
        const scores = new Float64Array(last + 1);
        let max = Number.NEGATIVE_INFINITY;
        for (let p = 0; p <= last; p++) {
          const ko = (slots[p]! * Hkv + kh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qo + d]! * a.kPool[ko + d]!;
          scores[p] = dot * scale;
          if (scores[p]! > max) max = scores[p]!;
        }
        let sum = 0;
        for (let p = 0; p <= last; p++) sum += Math.exp(scores[p]! - max);
        for (let p = 0; p <= last; p++) {
          const w = Math.exp(scores[p]! - max) / sum;
          const vo = (slots[p]! * Hkv + kh) * D;
          for (let d = 0; d < D; d++) out[qo + d] = out[qo + d]! + w * a.vPool[vo + d]!;
        }
        lse[(q0 + i) * H + h] = max + Math.log(sum);
      }
    }
  }
  return { out, lse };
}
