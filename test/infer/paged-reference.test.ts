import assert from "node:assert/strict";
import { test } from "node:test";
import { ShapeError } from "../../src/errors.js";
import { BlockPool } from "../../src/infer/block-pool.js";
import { BlockTables } from "../../src/infer/block-tables.js";
import { kvWriteRef, pagedAttentionRef } from "../../src/backend/reference/paged.js";
import { createRng, type Rng } from "../../src/infer/rng.js";

const randn = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => rng.next() * 2 - 1);

/**
 * Contiguous attention in the Backend contract's semantics (independent of the paged code):
 * q (T, H, D), k/v (S, Hkv, D); K/V heads are first expanded to H heads, then each head is a
 * masked softmax(q k^T * scale) v with query t at position t + S - T.
 */
function contiguousAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dims: number[],
  causal: boolean,
) {
  const [T, S, H, Hkv, D] = dims as [number, number, number, number, number];
  const rep = H / Hkv;
  const kx = new Float64Array(S * H * D);
  const vx = new Float64Array(S * H * D);
  for (let s = 0; s < S; s++)
    for (let h = 0; h < H; h++)
      for (let d = 0; d < D; d++) {
        kx[(s * H + h) * D + d] = k[(s * Hkv + Math.floor(h / rep)) * D + d]!;
        vx[(s * H + h) * D + d] = v[(s * Hkv + Math.floor(h / rep)) * D + d]!;
      }
  const out = new Float64Array(T * H * D);
  for (let h = 0; h < H; h++)
    for (let t = 0; t < T; t++) {
      const w = new Float64Array(S);
      for (let s = 0; s < S; s++) {
        if (causal && s > t + S - T) {
          w[s] = Number.NEGATIVE_INFINITY;
          continue;
        }
        for (let d = 0; d < D; d++) w[s] = w[s]! + q[(t * H + h) * D + d]! * kx[(s * H + h) * D + d]!;
        w[s] = w[s]! / Math.sqrt(D);
      }
      const m = Math.max(...w);
      const e = w.map((x) => Math.exp(x - m));
      const z = e.reduce((x, y) => x + y, 0);
      for (let s = 0; s < S; s++)
        for (let d = 0; d < D; d++) out[(t * H + h) * D + d]! += (e[s]! / z) * vx[(s * H + h) * D + d]!;
    }
  return out;
}

test("kvWrite scatters rows by slot and skips -1 padding", () => {
  const pool = new Float32Array(4 * 2).fill(9);
  kvWriteRef(pool, [1, 2, 3, 4, 5, 6], Int32Array.from([3, -1, 0]), 2);
  assert.deepEqual([...pool], [5, 6, 9, 9, 9, 9, 1, 2]);
  assert.throws(
    () => kvWriteRef(pool, [1, 2], Int32Array.from([4]), 2),
    /slot 4 of row 0 is outside the pool's 4 slots/,
  );
  assert.throws(() => kvWriteRef(pool, [1, 2, 3], Int32Array.from([1]), 2), ShapeError);
});

for (const [name, H, Hkv] of [
  ["MHA", 4, 4],
  ["GQA", 4, 2],
  ["MQA", 4, 1],
] as const) {
  test(`pagedAttention equals contiguous attention on gathered K/V (${name}, mixed prefill/decode batch)`, () => {
    const rng = createRng(H * 10 + Hkv);
    const D = 8;
    const bs = 3;
    const row = Hkv * D;
    const tables = new BlockTables(new BlockPool(32), bs);
    // Fragment the pool so block tables are not contiguous.
    tables.allocateFor("junk0", 7);
    tables.allocateFor("junk1", 5);
    tables.free("junk0");
    const kPool = randn(rng, 32 * bs * row);
    const vPool = randn(rng, 32 * bs * row);
    // [cached tokens, new tokens]: a decode step, a fresh prefill, a chunked-prefill continuation, causal edge T = S.
    const seqs: [number, number][] = [
      [9, 1],
      [0, 5],
      [4, 6],
      [1, 1],
    ];
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    for (const [b, [cached, fresh]] of seqs.entries()) {
      const S = cached + fresh;
      tables.allocateFor(`s${b}`, S);
      const slots = tables.append(`s${b}`, S);
      ks.push(randn(rng, S * row));
      vs.push(randn(rng, S * row));
      kvWriteRef(kPool, ks[b]!, slots, row);
      kvWriteRef(vPool, vs[b]!, slots, row);
    }
    const mb = Math.max(...seqs.map(([c, f]) => Math.ceil((c + f) / bs)));
    const blockTables = new Int32Array(seqs.length * mb).fill(-1);
    seqs.forEach((_, b) => {
      tables.blockTable(`s${b}`).forEach((blk, i) => {
        blockTables[b * mb + i] = blk;
      });
    });
    const queryStarts = Int32Array.from([0, ...seqs.map(([, f]) => f)]);
    for (let b = 1; b < queryStarts.length; b++) queryStarts[b]! += queryStarts[b - 1]!;
    const N = queryStarts[seqs.length]!;
    const q = randn(rng, N * H * D);
    for (const causal of [true, false]) {
      const { out, lse } = pagedAttentionRef({
        q,
        kPool,
        vPool,
        blockTables,
        maxBlocksPerSeq: mb,
        seqLens: Int32Array.from(seqs.map(([c, f]) => c + f)),
        queryStarts,
        nHeads: H,
        nKvHeads: Hkv,
        headDim: D,
        blockSize: bs,
        causal,
      });
      seqs.forEach(([c, f], b) => {
        const q0 = queryStarts[b]!;
        const want = contiguousAttention(
          q.subarray(q0 * H * D, (q0 + f) * H * D),
          ks[b]!,
          vs[b]!,
          [f, c + f, H, Hkv, D],
          causal,
        );
        const got = out.subarray(q0 * H * D, (q0 + f) * H * D);
        for (let i = 0; i < want.length; i++)
          assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12, `seq ${b} elem ${i}`);
      });
      assert.ok(lse.every((x) => Number.isFinite(x)));
    }
  });
}

test("pagedAttention rejects inconsistent metadata with ShapeErrors", () => {
  const base = {
    q: new Float64Array(2 * 2 * 4),
    kPool: new Float64Array(4 * 2 * 4),
    vPool: new Float64Array(4 * 2 * 4),
    blockTables: Int32Array.from([0, 1]),
    maxBlocksPerSeq: 2,
    seqLens: Int32Array.from([3]),
    queryStarts: Int32Array.from([0, 2]),
    nHeads: 2,
    nKvHeads: 2,
    headDim: 4,
    blockSize: 2,
  };
  pagedAttentionRef(base);
  assert.throws(() => pagedAttentionRef({ ...base, nKvHeads: 3 }), /Hkv 3 does not divide H 2/);
  assert.throws(() => pagedAttentionRef({ ...base, seqLens: Int32Array.from([1]) }), /2 queries but 1 keys/);
  assert.throws(
    () => pagedAttentionRef({ ...base, seqLens: Int32Array.from([5]) }),
    /5 keys but 2 blocks of 2/,
  );
  assert.throws(
    () => pagedAttentionRef({ ...base, blockTables: Int32Array.from([0, 9]) }),
    /block 9 is out of range/,
  );
  assert.throws(() => pagedAttentionRef({ ...base, queryStarts: Int32Array.from([0]) }), /expected B \+ 1/);
});
